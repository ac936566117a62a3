"""What the messenger channels share (the inbox processor, for webhooks answered before the
work is done). Nothing here names a channel."""
