"""The standing hostile-input campaign (issue 13): see tests/hostile/plugin.py and each test module."""
