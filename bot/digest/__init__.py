"""The weekly digest: when to post (:mod:`.schedule`, pure rules) and posting it exactly once per guild and week
(:mod:`.scheduler`). Its state lives in the shared store (:mod:`bot.store`); its errors in :mod:`bot.errors`, and
the whole error tree is drawn in :mod:`retrieval.errors`.

Import the modules themselves: this package re-exports nothing, so importing one of them never imports the
others (and the store, which reads the schedule's settings type, imports no cycle through here).
"""
