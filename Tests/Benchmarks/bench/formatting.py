"""Numbers as the table prints them."""


def fmt(v):
    """A number for the table: thousands spaced, three significant digits or so; "-" for none."""
    if v is None:
        return "-"
    if isinstance(v, (int,)) or (isinstance(v, float) and abs(v) >= 1000):
        return f"{v:,.0f}".replace(",", " ")
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def pct(v):
    """A fraction as a whole percentage; "-" for none."""
    return "-" if v is None else f"{100 * v:.0f}%"


def ratio_label(daemons):
    """The name of the ratio first/second of the two daemons compared: "u/h" (unwrapd over hitch)."""
    return f"{daemons[0][0]}/{daemons[1][0]}"
