"""The one button the picker needs: light to import, so the first frame does not wait for
the form widgets (`screens.widgets`)."""

from __future__ import annotations

from textual.widgets import Button

from screens import glyphs


class NavButton(Button):
    """A button that shows focus in its characters, `▸Next◂` (`>Next<` on the Linux console):
    reverse video alone is lost without colour."""

    def __init__(self, label: str, **kwargs: object) -> None:
        self.text = label
        super().__init__(f" {label} ", **kwargs)  # type: ignore[arg-type]

    def set_text(self, label: str) -> None:
        self.text = label
        self._show_focus(self.has_focus)

    def _show_focus(self, focused: bool) -> None:
        left, right = (glyphs.FOCUS, "<" if glyphs.ASCII else "◂") if focused else (" ", " ")
        self.label = f"{left}{self.text}{right}"

    def on_focus(self) -> None:
        self._show_focus(True)

    def on_blur(self) -> None:
        self._show_focus(False)
