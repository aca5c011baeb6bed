"""The desk: the web dashboard for staff, an aiohttp sub-application the bot mounts."""
