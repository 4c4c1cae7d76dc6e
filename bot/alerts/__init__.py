"""Personal keyword alerts: members subscribe to words, and each new issue whose items match them reaches each
such member once, as a direct message.

* :mod:`bot.alerts.match`: which items of one issue match one query (the search engine, restricted to that
  issue, above ``alerts.min_score``): pure over the engine;
* :mod:`bot.alerts.book`: the members' side (subscribe, list, remove, the one-time notice), for the commands;
* :mod:`bot.alerts.service`: the sending side, the exactly-once state machine over the shared store.

The transport (a Discord direct message) is :class:`bot.alerts.service.AlertSender`, implemented in
:mod:`bot.discord_adapter.dm`.
"""

CONSOLE_USER_ID = 0
"""The console is one local user. Discord ids are never 0, so its subscriptions never meet a Discord member's,
and the alert sender skips them: the console does not poll feeds, so alerts do not apply to it."""
