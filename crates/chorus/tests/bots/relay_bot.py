"""A bot written with the unmodified mmpy_bot framework (PyPI, pinned in
requirements.txt), run against Chorus by crates/chorus/tests/system/bots.rs.

It signs in with a personal access token (BOT_TOKEN, read by mmpy_bot's Settings from
the environment with MATTERMOST_URL, MATTERMOST_PORT and BOT_TEAM). To a message
"ping <word>" it answers "pong <word>" in the message's thread with the file named by
RELAY_FILE attached, and reacts to the message with :white_check_mark:.
"""

import os

from mmpy_bot import Bot, Message, Plugin, Settings, listen_to


class Relay(Plugin):
    @listen_to(r"^ping (\w+)$")
    async def ping(self, message: Message, word: str):
        self.driver.reply_to(message, f"pong {word}", file_paths=[os.environ["RELAY_FILE"]])
        self.driver.react_to(message, "white_check_mark")


if __name__ == "__main__":
    Bot(settings=Settings(SSL_VERIFY=False), plugins=[Relay()]).run()
