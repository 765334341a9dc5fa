"""Anonymous callback booking: time slots staff open, bookings visitors make, calls staff make."""
