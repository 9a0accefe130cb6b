"""Widgets shared by the screens: the wedge-aware scan field, answer card, queue, key bar and top bar."""
