"""Offline and online agents sharing one critic, one buffer and one update skeleton."""
