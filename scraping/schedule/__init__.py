"""When each title is checked next: the learned policy (pure) and its replay against real and generated calendars."""
