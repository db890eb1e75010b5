"""Evidence preservation: legal holds, their immutable evidence sets and chain of custody."""
