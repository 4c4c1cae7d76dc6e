"""Default configuration files for newsbot, shipped as package data (``newsbot_config``).

This module holds no code: it exists so that an installed ``newsbot`` finds its
``newsbot.toml``, user dictionary, stop words and glossary from any directory.
"""
