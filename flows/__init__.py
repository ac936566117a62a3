"""The intake conversation as a pure state machine.

Nothing in this package talks to a messenger SDK or a database: a step receives the
conversation and a channel-neutral event and returns the next conversation, replies made of
message ids, and effects for the storage layer to apply in the same transaction.
"""
