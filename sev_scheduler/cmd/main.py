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

"""``sev-scheduler``: the operator's command line, built on cliff."""

import functools
import sys
import warnings

from cliff import app
from cliff import commandmanager
import pbr.version

from sev_scheduler.cmd import base


class SEVSchedulerApp(app.App):

    def __init__(self):
        super().__init__(
            description='Tools for the sev-scheduler Nova plugin.',
            version=pbr.version.VersionInfo(
                'sev-scheduler').version_string(),
            command_manager=commandmanager.CommandManager(
                'sev_scheduler.commands'),
            deferred_help=True)

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        # A usage error is not a verdict: base.USAGE, not argparse's 2.
        parser.error = functools.partial(base.usage_error, parser)
        return parser

    def run_subcommand(self, argv):
        # The command's --os-* options are read from these, not sys.argv.
        self.command_argv = argv
        try:
            self.command_manager.find_command(argv)
        except ValueError:
            # cliff says what is wrong, and exits 2: a verdict here.
            super().run_subcommand(argv)
            return base.USAGE
        return super().run_subcommand(argv)


def main(argv=None):
    # Nova imports eventlet, which warns on every import: not the
    # operator's business.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    return SEVSchedulerApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
