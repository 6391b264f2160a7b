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
import os
import shutil
import signal
import tempfile
import textwrap
import threading
import warnings

from cliff import lister
import prettytable
import yaml

from sev_scheduler.cmd import base
from sev_scheduler.cmd import output

#: Tables no wider than this unless --max-width or CLIFF_MAX_TERM_WIDTH
#: says otherwise.
WIDTH = 80
#: The cloud's name in the clouds.yaml --keep-running prints.
CLOUD = 'sev-demo'
#: Every column --format json, yaml, csv or -c can show.
COLUMNS = ('Request', 'Asked for', 'Servers', 'Hosts', 'Refused by',
           'Reason', 'Explain')
#: The two the table shows unless -c names others.
TABLE_COLUMNS = ('Request', 'Result')


def _at_least(minimum):
    def count(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(
                'must be at least %d, not %d' % (minimum, value))
        return value
    return count


def _wrap(text, width, indent=''):
    return textwrap.wrap(text, width, initial_indent=indent,
                         subsequent_indent=indent, break_on_hyphens=False)


def _result(outcome):
    """What became of a request, in words, for the table."""
    count = len(outcome.servers)
    if not outcome.refused:
        hosts = sorted(set(outcome.hosts))
        if count > 1:
            landed = 'all %d landed, on %s' % (count, ', '.join(hosts))
        else:
            landed = 'landed on %s' % hosts[0]
        return '%s (%s)' % (landed, outcome.note) if outcome.note else landed
    who = 'refused by %s' % outcome.origin
    if count > 1:
        who = 'all %d %s' % (count, who)
    reason = outcome.reason.strip()
    if outcome.explain:
        return '%s; the fault says only "%s" Why: %s' % (
            who, reason, outcome.explain)
    if reason.startswith('No valid host was found.'):
        reason = reason[len('No valid host was found.'):].strip()
    return '%s: %s' % (who, reason)


def _table_rows(outcomes, width):
    """(Request, Result) rows wrapped to a table ``width`` wide."""
    request_width = min(26, max(
        max(len(outcome.request), len(outcome.asked) + 2)
        for outcome in outcomes))
    # Borders and padding of two columns: 7 characters.
    result_width = max(20, width - 7 - request_width)
    rows = []
    for outcome in outcomes:
        request = [outcome.request] + _wrap(outcome.asked,
                                            request_width, '  ')
        result = []
        for part in _result(outcome).split(' Why: '):
            result += _wrap(part if not result else 'Why: ' + part,
                            result_width)
        # Table output shows control characters escaped: each line's.
        rows.append(tuple('\n'.join(output.escape(line) for line in lines)
                          for lines in (request, result)))
    return rows


def _notes(outcomes):
    """What the table means, below it."""
    origins = sorted({outcome.origin for outcome in outcomes
                      if outcome.refused})
    notes = ['Refused by: %s. SEVFilter gives its reason in the fault. '
             "Nova's API answers 400 at create: no server is made. "
             'Otherwise the fault says only "No valid host was found.": '
             'Placement had no host with a free slot, a filter dropped '
             "every host, or Nova's scheduler found too few for a "
             'multi-create; explain says which, and why.'
             % ', '.join(origins)]
    many = [outcome for outcome in outcomes if len(outcome.servers) > 1]
    notes.append('A multi-create (min_count = max_count = N) is all or '
                 'nothing: if one server finds no host, none is created.' +
                 (' "%s" asked for %d servers: all %s.' % (
                     many[0].request, len(many[0].servers),
                     'were refused' if many[0].refused else 'landed')
                  if many else ''))
    return notes


class Demo(base.Command, lister.Lister):
    """Boot a scripted series of servers in an embedded cloud.

    Starts Nova's API, conductor, scheduler and Placement in process with
    fake libvirt hosts (some with SEV slots, one overcommitting memory,
    some plain), enables SEVFilter with the README's nova.conf lines, and
    boots one request per rule. The output is one table of what became of
    each request and who refused it (SEVFilter, Nova's API, Placement or
    Nova's scheduler), within --max-width (80 by default); -f json shows
    every detail. Then the operator tools run against the same cloud:
    capacity, explain on a refused server, audit after an admin's
    forced-host boot, and one metrics collection. With --keep-running the
    cloud's APIs are then served on 127.0.0.1 for sev-scheduler and
    openstack sev commands run by hand, until Ctrl-C.
    """

    verdicts = ((base.OK, 'the demo ran'),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Set to stop a --keep-running cloud; ``clouds_yaml`` is the path
        #: of its clouds.yaml while it runs.
        self.stop = threading.Event()
        self.clouds_yaml = None
        self._shown = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--sev-hosts', type=_at_least(1), default=2,
                            metavar='N', help='SEV hosts (default 2)')
        parser.add_argument('--plain-hosts', type=_at_least(0), default=2,
                            metavar='N', help='hosts without SEV (default 2)')
        parser.add_argument('--slots', type=_at_least(1), default=3,
                            metavar='N',
                            help='SEV and SEV-ES slots per SEV host '
                                 '(maxGuests, maxESGuests; default 3; '
                                 'sev-overcommit has one SEV slot); Nova '
                                 'has SEV-ES since 2025.2')
        parser.add_argument('--keep-running', action='store_true',
                            help='then serve the cloud on 127.0.0.1 and '
                                 'print a clouds.yaml for it, until Ctrl-C')
        if not os.environ.get('CLIFF_MAX_TERM_WIDTH'):
            parser.set_defaults(max_width=WIDTH)
        return parser

    def take_action(self, parsed_args):
        self.parsed_args = parsed_args
        self.table = parsed_args.formatter == 'table'
        # The story around the table: on stdout with it, else on stderr so
        # that stdout is the data alone.
        self.out = self.app.stdout if self.table else self.app.stderr
        # Nova's harness points tempfile at its own nested directory.
        self.tmp = tempfile.gettempdir()
        self._progress('Starting the cloud...')
        # The services log into Nova's harness, as in its tests: keep the
        # demo's own lines, and cliff's logging as it was once the cloud is
        # gone.
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            # Nova's harness warns about eventlet on import, and sets up
            # oslo.log's handlers on stdout (a new handler before eventlet's
            # patching would hold a lock it cannot green).
            logging.disable(logging.CRITICAL)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                from sev_scheduler.demo import cloud
            logging.disable(logging.NOTSET)
            root.handlers[:] = [logging.NullHandler()]
            self.outcomes = cloud.run(cloud.Options(
                parsed_args.sev_hosts, parsed_args.plain_hosts,
                parsed_args.slots), self)[0]
        finally:
            logging.disable(logging.NOTSET)
            root.handlers[:] = handlers
            root.setLevel(level)
        return self._data()

    def _wrapped(self):
        """The table of two columns, each line escaped, is shown."""
        return self.table and not self.parsed_args.columns

    def _data(self):
        if self._wrapped():
            return TABLE_COLUMNS, _table_rows(
                self.outcomes, self.parsed_args.max_width or WIDTH)
        return COLUMNS, [
            (outcome.request, outcome.asked, outcome.servers,
             outcome.hosts, outcome.origin or '', outcome.reason,
             outcome.explain or '')
            for outcome in self.outcomes]

    def produce_output(self, parsed_args, column_names, data):
        # Shown by ready(), while the cloud runs.
        if not self._shown:
            super().produce_output(parsed_args, column_names, data)

    # What DemoCloud reports.

    @property
    def width(self):
        return self.parsed_args.max_width or WIDTH

    def _progress(self, text, end='\n'):
        print(text, end=end, file=self.app.stderr, flush=True)

    def progress(self, request):
        self._progress('.', end='')

    def hosts(self, hosts):
        self._progress('')
        table = prettytable.PrettyTable(['Host', 'SEV slots', 'RAM ratio'])
        table.align = 'l'
        for host in hosts:
            table.add_row([host['host'], host['sev'],
                           host['ram_allocation_ratio']])
        self._heading('hosts')
        self._print(table.get_string())
        self._progress('Booting the requests', end='')

    def _heading(self, heading):
        self._print('\n%s\n%s' % (heading, '-' * len(heading)))

    def _print(self, text):
        print(text, file=self.out, flush=True)

    def ready(self, demo_cloud):
        """Show the results and the tools; keep the cloud up if asked."""
        self._progress('')
        self.outcomes = demo_cloud.outcomes
        self._heading('requests')
        if self._wrapped():
            lister.Lister.produce_output(self, self.parsed_args,
                                         *self._data())
        else:
            super().produce_output(self.parsed_args, *self._data())
        self._shown = True
        for note in _notes(self.outcomes):
            self._print('\n%s' % '\n'.join(_wrap(note, self.width)))
        for section in demo_cloud.sections:
            self._heading(section.heading)
            self._print('\n'.join(_wrap(section.note, self.width)))
            self._print(' \\\n    '.join(_wrap(
                '$ %s' % ' '.join(section.run.argv), self.width - 2)))
            self._print(section.run.stdout.rstrip('\n'))
            if section.run.status:
                self._print('(exit status %d)' % section.run.status)
        if self.parsed_args.keep_running:
            self._keep_running(demo_cloud)

    def _interrupted(self, number, frame):
        self.stop.set()

    def _keep_running(self, demo_cloud):
        from sev_scheduler.demo import apis
        served = apis.Served(demo_cloud.endpoints())
        directory = tempfile.mkdtemp(prefix='sev-demo-', dir=self.tmp)
        try:
            self.clouds_yaml = os.path.join(directory, 'clouds.yaml')
            text = yaml.safe_dump(served.clouds_yaml(CLOUD),
                                  default_flow_style=False)
            with open(self.clouds_yaml, 'w') as clouds_yaml:
                clouds_yaml.write(text)
            self._heading('keep-running')
            self._print(
                'The cloud runs until Ctrl-C, its APIs on 127.0.0.1. '
                'Its clouds.yaml (%s):\n\n%s\nIn another shell:\n\n'
                '  export OS_CLIENT_CONFIG_FILE=%s\n'
                '  sev-scheduler capacity --os-cloud %s\n'
                '  sev-scheduler audit --os-cloud %s\n'
                '  openstack --os-cloud %s sev explain one-more\n'
                % (self.clouds_yaml, textwrap.indent(text, '  '),
                   self.clouds_yaml, CLOUD, CLOUD, CLOUD))
            # Ctrl-C, or a kill, stops the cloud: eventlet's hub, where
            # Nova's harness runs on it, would otherwise keep the signal.
            handlers = {number: signal.signal(number, self._interrupted)
                        for number in (signal.SIGINT, signal.SIGTERM)}
            try:
                while not self.stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            finally:
                for number, handler in handlers.items():
                    signal.signal(number, handler)
            self._progress('Stopping the cloud...')
        finally:
            served.stop()
            shutil.rmtree(directory, ignore_errors=True)
