"""The liaison's pages (`views`: home, log a donor, donor list, edit, withdraw, roster upload and
template) and their forms (`forms`)."""
