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

"""``sev-scheduler demo``: SEVFilter at work in an embedded Nova cloud."""

import argparse
import logging
import sys
import warnings

from cliff import lister
import prettytable

from sev_scheduler.cmd import base


def _at_least(minimum):
    def count(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(
                'must be at least %d, not %d' % (minimum, value))
        return value
    return count


class _Report:
    """What the demo shows while it runs, on stderr."""

    @staticmethod
    def progress(line):
        print(line, file=sys.stderr, flush=True)

    def hosts(self, hosts):
        table = prettytable.PrettyTable(['Host', 'SEV slots', 'RAM ratio'])
        table.align = 'l'
        for host in hosts:
            table.add_row([host['host'], host['sev'],
                           host['ram_allocation_ratio']])
        self.progress(table.get_string())


class Demo(base.Command, lister.Lister):
    """Boot a scripted series of servers in an embedded cloud.

    Starts Nova's API, conductor, scheduler and Placement in process with
    fake libvirt hosts (some with SEV slots, one overcommitting memory,
    some plain), enables SEVFilter with the README's nova.conf lines, and
    boots one request per rule. Hosts and progress go to stderr; the
    outcome of each request is the command's output.
    """

    verdicts = ((base.OK, 'the demo ran'),)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--sev-hosts', type=_at_least(1), default=2,
                            metavar='N', help='SEV hosts (default 2)')
        parser.add_argument('--plain-hosts', type=_at_least(0), default=2,
                            metavar='N', help='hosts without SEV (default 2)')
        parser.add_argument('--slots', type=_at_least(1), default=3,
                            metavar='N',
                            help='SEV and SEV-ES slots per SEV host '
                                 '(maxGuests, maxESGuests; default 3); '
                                 'Nova has SEV-ES since 2025.2')
        return parser

    def take_action(self, parsed_args):
        report = _Report()
        report.progress('Starting the cloud...')
        # The services log as a cloud would: keep the demo's own lines, and
        # cliff's own logging as it was once the cloud is gone.
        handlers = logging.root.handlers[:]
        logging.disable(logging.CRITICAL)
        try:
            with warnings.catch_warnings():
                # Nova's harness warns about eventlet on import.
                warnings.simplefilter('ignore')
                from sev_scheduler.demo import cloud
            outcomes = cloud.run(cloud.Options(
                parsed_args.sev_hosts, parsed_args.plain_hosts,
                parsed_args.slots), report)
        finally:
            logging.root.handlers[:] = handlers
            logging.disable(logging.NOTSET)
        return (('Request', 'Asked for', 'Result'), outcomes)
