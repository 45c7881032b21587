"""Text from files, shown inside Streamlit markdown, stays text.

Streamlit renders captions, alerts, expander and widget labels as markdown.  A patient
id, a diagnosis, a file or column name comes from an uploaded file, so inside markdown
``![](http://host/x.png)`` would load a remote image, ``[x](javascript:...)`` would be a
link, ``:red[...]`` would restyle the page and ``$...$`` would become LaTeX.  Every
data-derived string that reaches markdown goes through :func:`md_escape` first; it is
then shown exactly as written.  (Raw HTML is never enabled: ``unsafe_allow_html`` is not
used anywhere.)

Backslash escapes do not stop GFM's autolinks: Streamlit's markdown finds ``http://``,
``www.`` and e-mail addresses in the text after parsing.  An invisible WORD JOINER
(U+2060) is put inside those three patterns, so a URL in the data shows as written but
is not a link.  Nor do they stop Streamlit's shortcodes, which are replaced in the text
after parsing too: ``:smile:`` became an emoji and ``:material/warning:`` an icon (an
id or a sheet name shown as a picture).  A WORD JOINER after every colon that opens a
shortcode keeps them text (colour directives such as ``:red[...]`` are already broken by
escaping their bracket).
"""

from __future__ import annotations

import re

#: Characters that start markdown syntax anywhere on a line (emphasis, code, links and
#: images, HTML, tables, strikethrough, LaTeX, entities, e-mail autolinks).
_ALWAYS = re.compile(r"([\\`*_{}\[\]()!|<>~$&@])")
#: A colon that is not followed by a space: ``:red[``, ``:material/...:``, ``http://``.
_COLON = re.compile(r":(?=\S)")
#: Where GFM's autolinks start: ``scheme://``, ``www.`` and the ``@`` of an e-mail address.
_AUTOLINK = re.compile(r"(?i)(:(?=//)|(?<=www)(?=\.)|(?=@))")
#: A colon that opens a shortcode (``:smile:``, ``:+1:``, ``:100:``, ``:material/warning:``).
_SHORTCODE = re.compile(r":(?=(?:material/)?[\w+\-]+:)")
WORD_JOINER = "\u2060"
#: At the start of a line: a heading, a list item, a numbered list or a heading underline.
_LEADING = re.compile(r"^(\s*)([-+=#]|\d+(?=[.)]))")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md_escape(text: object) -> str:
    """``text`` as markdown that displays exactly ``text`` (on one line).

    Only what markdown or Streamlit would interpret is escaped, so the markdown source
    stays readable ("day-first or month-first", "Columns found: ...").
    """
    s = "" if text is None else str(text)
    s = _LINE_BREAKS.sub(" ", s)
    s = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, s)
    s = _SHORTCODE.sub(":" + WORD_JOINER, s)
    s = _ALWAYS.sub(r"\\\1", s)
    s = _COLON.sub(r"\\:", s)
    m = _LEADING.match(s)
    if m:
        lead, mark = m.group(1), m.group(2)
        if mark.isdigit():  # "1." -> "1\." (the dot or parenthesis after the number)
            rest = s[m.end() :]
            return lead + mark + "\\" + rest
        return lead + "\\" + mark + s[m.end() :]
    return s


__all__ = ["md_escape"]
