"""Personal data: where TrustDesk keeps it, and the one path by which it goes."""
