// Loads the widget in an iframe: filled in by the widget.
