"""How the bot reads what Zalo delivers from a group.

Zalo's group page (bot.zaloplatforms.com/docs/build-bot-interaction-with-group/, 17/12/2025,
"thử nghiệm nội bộ": an internal test) says a bot in a group receives a message only when a
member replies to one of the bot's messages or @mentions the bot. It documents neither how a
reply carries what it quotes nor whether the "@Name" stays in `text`. Our guess, to be checked
against a real capture: `text` holds what the member typed, so a reply "2" to the bot's
options is read as the option 2, and a message that starts with "@" has the mention in front,
which is taken off here. A mention of the bot by a name we know (getMe's `account_name`, or a
`display_name`/`name` if it ever gives one) is cut exactly; one by a name we do not know (the
name shown in Zalo need not be any of those) is cut at the first word after which the rest is
a command, an option of the chat's menu (its number or label), and else after the first word.
"""

import re

from bot.channels.text_session import Option, chosen_option

_WORD_END = re.compile(r"\s+")


def without_mention(text: str, names: set[str], options: list[Option]) -> str:
    """`text` without the @mention it starts with; `text` itself when it starts with none."""
    if not text.startswith("@"):
        return text
    body = text[1:]
    for name in sorted(names, key=len, reverse=True):
        cut = body[:len(name)]
        if name and cut.casefold() == name.casefold() and (
                len(body) == len(name) or body[len(name)].isspace()):
            return body[len(name):].strip()
    body = body.strip()
    rests = [body[match.end():] for match in _WORD_END.finditer(body)]
    for rest in rests:
        if rest.startswith("/") or (options and chosen_option(options, rest) is not None):
            return rest.strip()
    return rests[0].strip() if rests else ""
