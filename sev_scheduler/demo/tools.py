#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The operator commands, run in process against the demo's cloud.

The real cliff commands of ``sev-scheduler``, through its own app (parser,
formatters, exit status), with the Cloud of the in-process APIs in place of
the one their --os-* options would give.
"""

import collections
import contextlib
import io
import logging
import os

from sev_scheduler.cmd import main

#: One command run: its command line as a user types it, exit status and
#: output.
Run = collections.namedtuple('Run', ['argv', 'status', 'stdout', 'stderr'])

#: cliff's table formatter reads its default --max-width here.
WIDTH = 'CLIFF_MAX_TERM_WIDTH'


def run(cloud, *argv, width=None):
    """``sev-scheduler ARGV`` on a Cloud; its output captured.

    :param width: tables no wider, as CLIFF_MAX_TERM_WIDTH says.
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    # cliff sets up the root logger for its own output: the cloud's
    # services keep theirs once the command is done.
    handlers, level = root.handlers[:], root.level
    width_was = os.environ.get(WIDTH)
    if width:
        os.environ[WIDTH] = str(width)
    try:
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            app = main.SEVSchedulerApp()
            factory = app.command_manager.find_command(list(argv))[0]

            class InProcess(factory):
                def cloud(self, parsed_args):
                    return cloud

            app.command_manager.add_command(argv[0], InProcess)
            status = app.run(list(argv))
    finally:
        if width_was is None:
            os.environ.pop(WIDTH, None)
        else:
            os.environ[WIDTH] = width_was
        root.handlers[:] = handlers
        root.setLevel(level)
    return Run(('sev-scheduler',) + argv, status, stdout.getvalue(),
               stderr.getvalue())
