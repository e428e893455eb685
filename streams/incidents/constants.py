"""The incidents policy's fixed values: radius bounds, grace period, its own actor, and the
reasons it gives for a revocation."""

MIN_RADIUS_M = 10.0
MAX_RADIUS_M = 5_000.0
DEFAULT_GRACE_S = 30.0
"""How long a camera left behind stays granted, in case the suspect turns back."""
POLICY_ACTOR = "vigie-policy"
"""The service principal named as actor of decisions no person requested (expiry, grace)."""

REASON_CLOSED = "incident closed"
REASON_EXPIRED = "expired: the agreement's maximum duration is reached"
REASON_LEFT_BEHIND = "left behind: no longer near the incident"
