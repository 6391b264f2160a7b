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

"""What every command has in common: exit status, output, the cloud."""

import functools
import sys

from cliff import _argparse as cliff_argparse
from cliff import lister
from oslo_upgradecheck import upgradecheck

from sev_scheduler.cmd import output
from sev_scheduler import conf
from sev_scheduler.operators import cloud as sev_cloud

#: The exit status of every command (doc/source/cli/index.rst): the verdict
#: as oslo.upgradecheck's codes, the worst first...
OK = int(upgradecheck.Code.SUCCESS)
WARNING = int(upgradecheck.Code.WARNING)
FAILURE = int(upgradecheck.Code.FAILURE)
#: ...a command line that cannot be read (sysexits.h's EX_USAGE): argparse
#: would exit 2, which is a verdict here...
USAGE = 64
#: ...and no verdict at all, as oslo.upgradecheck exits when a check
#: cannot run: the cloud, a file or a name could not be read.
ERROR = 255

_ALWAYS = ((USAGE, 'usage error: an option or argument cannot be read'),
           (ERROR, 'error: nothing judged (the cloud, a file or a name '
                   'could not be read)'))


# For the help of the commands that judge a request as SEVFilter would.
UNSEEN_PATHS = (
    'What no scheduler sees, this command cannot see either: a rebuild '
    "with the server's own image id; a rescue, whose rescue image may put "
    'its disk on an IDE bus or a floppy (hw_rescue_bus, '
    'hw_rescue_device); a port or a volume attached to a running server; '
    "and an admin's forced host, on which no filter runs. "
    '"sev-scheduler audit" finds what they leave behind.')


def epilog(verdicts):
    """The exit statuses a command's help lists: its own, then the rest."""
    return 'Exit status:\n' + '\n'.join(
        '  %-4d %s' % row for row in tuple(verdicts) + _ALWAYS)


class HelpFormatter(cliff_argparse.SmartHelpFormatter):
    """cliff's, keeping a paragraph with indented lines as it is written.

    argparse runs every line of a description or epilog together: the
    exit-status table would be one sentence.
    """

    def _fill_text(self, text, width, indent):
        return '\n\n'.join(
            paragraph if '\n  ' in paragraph
            else super(HelpFormatter, self)._fill_text(paragraph, width,
                                                       indent)
            for paragraph in text.split('\n\n'))


class UsageError(Exception):
    """Arguments that make no sense together; the message says why."""


def usage_error(parser, message):
    """argparse's error(), with USAGE instead of its 2."""
    parser.print_usage(sys.stderr)
    parser.exit(USAGE, '%s: error: %s\n' % (parser.prog, message))


def add_scheduler_conf_argument(parser):
    """--nova-conf: the scheduler's [sev_scheduler] options, away from it."""
    parser.add_argument(
        '--nova-conf', metavar='FILE', action='append',
        help="read [sev_scheduler] from the scheduler's nova.conf "
             "(repeatable, later files win); the options' defaults "
             "otherwise")


def use_scheduler_conf(parsed_args):
    """Read the files --nova-conf named; ValueError says what is wrong."""
    if parsed_args.nova_conf:
        conf.use_scheduler_conf(parsed_args.nova_conf)


class Command:
    """A cliff command's exit status and terminal-safe output.

    Listed before the cliff base class. A command names the verdicts it
    can give in ``verdicts`` (for its help) and returns the one it reached
    from ``status()``, called once ``take_action`` and the output are
    done. A usage error exits USAGE; an exception of ``take_action``
    exits ERROR, never a verdict. Table and value output show control
    characters escaped (``output``); JSON and YAML keep exact values.
    """

    #: (status, meaning) of the verdicts this command gives.
    verdicts = ((OK, 'done'),)

    def get_epilog(self):
        return '\n\n'.join(
            part for part in (epilog(self.verdicts), super().get_epilog())
            if part)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.error = functools.partial(usage_error, parser)
        parser.formatter_class = HelpFormatter
        return parser

    def status(self):
        """The verdict reached; OK unless a command says otherwise."""
        return OK

    def run(self, parsed_args):
        log = self.app.LOG
        try:
            super().run(parsed_args)
        except UsageError as error:
            log.error('%s', output.escape(str(error)))
            return USAGE
        except sev_cloud.CloudError as error:
            log.error('Could not read the cloud: %s',
                      output.escape(str(error)))
            return ERROR
        except Exception as error:
            if getattr(self.app.options, 'debug', False):
                log.exception('%s', output.escape(str(error)))
            else:
                log.error('%s', output.escape(str(error)))
            return ERROR
        return self.status()

    def produce_output(self, parsed_args, column_names, data):
        if parsed_args.formatter not in output.EXACT_FORMATTERS:
            if isinstance(self, lister.Lister):
                data = [[output.for_text(value) for value in row]
                        for row in data]
            else:
                data = [output.for_text(value) for value in data]
        return super().produce_output(parsed_args, column_names, data)


class CloudCommand(Command):
    """A cliff command reading the cloud through ``operators.cloud``.

    Under ``sev-scheduler`` the Cloud comes from the --os-* options,
    clouds.yaml or OS_* variables; the ``openstack sev`` plugin overrides
    both methods to use the openstack client's own session. A command's
    ``take_action`` calls ``self.cloud(parsed_args)`` and nothing else
    about credentials.
    """

    def add_cloud_arguments(self, parser):
        sev_cloud.register_arguments(
            parser, getattr(self.app, 'command_argv', ()))

    def cloud(self, parsed_args):
        return sev_cloud.from_arguments(parsed_args)
