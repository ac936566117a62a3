"""How to reach the office, from its settings (never from catalog text): name (in the reader's
language when the office set one), phone, hours.

Every message that sends the jobseeker to the office carries this as its `{contact}`.
"""

from __future__ import annotations

from flows.model import Msg, OfficeProfile, OpeningHours


def contact(office: OfficeProfile) -> Msg:
    """Return the office's name, phone number (when the office set one) and hours."""
    hours = OpeningHours(office.hours)
    name = office.display_name
    if office.phone:
        return Msg("office.contact", {"name": name, "phone": office.phone, "hours": hours})
    return Msg("office.contact_no_phone", {"name": name, "hours": hours})
