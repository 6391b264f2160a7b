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

"""``sev-scheduler metrics``: slots and findings for Prometheus."""

import argparse
import functools
import threading

from cliff import command

from sev_scheduler.cmd import base
from sev_scheduler.operators import metrics

#: Where --listen :PORT binds: this host only, as the Prometheus exporters
#: that hold credentials do. Every scrape is unauthenticated, and what it
#: reads is read with the command's (admin) credentials.
DEFAULT_ADDRESS = '127.0.0.1'

#: Seconds between two collections when served (--interval).
DEFAULT_INTERVAL = 60


def listen_address(text):
    """(address, port) of ADDRESS:PORT; [::1]:9178 for IPv6.

    :PORT alone is DEFAULT_ADDRESS: every interface only when named
    (0.0.0.0:PORT, [::]:PORT).
    """
    address, sep, port = text.rpartition(':')
    try:
        port = int(port)
    except ValueError:
        port = -1
    if not sep or not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            'expected ADDRESS:PORT (e.g. 127.0.0.1:9178), not %r' % text)
    return address.strip('[]') or DEFAULT_ADDRESS, port


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0:
        raise argparse.ArgumentTypeError(
            'expected seconds, 0 or more, not %r' % text)
    return value


class Metrics(base.CloudCommand, command.Command):
    """Encryption slots and audit findings in Prometheus' text format.

    Per host and model: slots total (sev_scheduler_slots_capacity), used
    and free, from Placement; with --audit, sev-scheduler audit's findings
    by kind (it lists every server: slower). Printed, written atomically
    to a file for node_exporter's textfile collector (--output), or served
    over HTTP (--listen), on this host only unless an address is given,
    reading the cloud at most once per --interval and serving the last
    collection in between. A cloud that cannot be read, the credentials
    included, is a collection of sev_scheduler_cloud_up 0 alone, written
    as any other (exit status 255). The audit findings do not change the
    exit status: they are in the metrics.
    """

    verdicts = ((base.OK, 'the metrics were written, or served until '
                          'interrupted'),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Set to stop serving; ``server`` is set once serving.
        self.stop = threading.Event()
        self.server = self.collector = self.throttle = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            '--output', metavar='FILE',
            help='write to FILE (replaced atomically) instead of stdout, '
                 "e.g. into node_exporter's --collector.textfile.directory")
        where.add_argument(
            '--listen', metavar='ADDRESS:PORT', type=listen_address,
            help='serve the metrics over HTTP until interrupted; :PORT '
                 'listens on %s only, 0.0.0.0:PORT or [::]:PORT on every '
                 'interface' % DEFAULT_ADDRESS)
        parser.add_argument(
            '--interval', metavar='SECONDS', type=_seconds,
            default=DEFAULT_INTERVAL,
            help='with --listen, read the cloud at most once per SECONDS, '
                 'serving the last collection in between (default '
                 '%(default)s)')
        parser.add_argument(
            '--audit', action='store_true',
            help='also run sev-scheduler audit and count its findings by '
                 'kind (reads every server)')
        base.add_scheduler_conf_argument(parser)
        self.add_cloud_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        base.use_scheduler_conf(parsed_args)
        # The credentials are used at the first collection: when they
        # cannot be, it says sev_scheduler_cloud_up 0.
        self.collector = metrics.CloudCollector(
            functools.partial(self.cloud, parsed_args),
            audit=parsed_args.audit)
        if parsed_args.listen:
            self.throttle = metrics.Throttled(self.collector,
                                              parsed_args.interval)
            self.serve(metrics.registry(self.throttle), *parsed_args.listen)
            return
        data = metrics.exposition(metrics.registry(self.collector))
        if parsed_args.output:
            metrics.write_textfile(parsed_args.output, data)
        else:
            self.app.stdout.write(data.decode())

    def serve(self, registry, address, port):
        self.server = metrics.serve(registry, address, port)[0]
        self.app.LOG.info('Serving metrics on %s:%s',
                          *self.server.server_address[:2])
        try:
            self.stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.server.shutdown()
            self.server.server_close()

    def status(self):
        # The output says sev_scheduler_cloud_up 0: no verdict.
        return base.ERROR if self.collector.error else base.OK
