"""The Discord surface: slash commands, embeds, views. Only this package imports ``discord``."""
