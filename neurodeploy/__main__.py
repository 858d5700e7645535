"""``python -m neurodeploy`` and the ``neurodeploy`` command. A Ctrl-C while Python loads the toolchain,
before the command line takes over the signals, ends in one line too."""

import os
import signal


def _interrupted_while_loading(signum, frame):
    os.write(2, b"interrupted by SIGINT\n")
    os._exit(128 + signum)


def main():
    previous = signal.signal(signal.SIGINT, _interrupted_while_loading)
    from neurodeploy.cli import main as command_line

    signal.signal(signal.SIGINT, previous)
    command_line()


if __name__ == "__main__":
    main()
