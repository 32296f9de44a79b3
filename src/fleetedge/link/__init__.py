"""The ship-to-shore link: MirrorMaker 2 per vessel over an emulated satellite link.

- :mod:`emulator`: Toxiproxy proxies (cut, latency, jitter) and kernel rate shaping per vessel;
- :mod:`mirror`: MirrorMaker 2 configuration and processes (a priority and a bulk flow);
- :mod:`supervisor`: restarts dead, failed or stalled MirrorMaker 2 processes;
- :mod:`health`: backlog, its age and bytes, drain rate, heartbeats;
- :mod:`audit`: completeness ashore from sequence numbers.
"""
