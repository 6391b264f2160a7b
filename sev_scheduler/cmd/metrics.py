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
import threading

from cliff import command

from sev_scheduler.cmd import audit as audit_cmd
from sev_scheduler.cmd import base
from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.operators import metrics


def listen_address(text):
    """(address, port) of ADDRESS:PORT; [::1]:9100 for IPv6."""
    address, sep, port = text.rpartition(':')
    try:
        port = int(port)
    except ValueError:
        port = -1
    if not sep or not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            'expected ADDRESS:PORT (e.g. 0.0.0.0:9100), not %r' % text)
    return address.strip('[]') or '0.0.0.0', port


class Metrics(base.CloudCommand, command.Command):
    """Encryption slots and audit findings in Prometheus' text format.

    Per host and model: slots total (sev_scheduler_slots_capacity), used
    and free, from Placement; with --audit, sev-scheduler audit's findings
    by kind (it lists every server: slower). Printed, written atomically
    to a file for node_exporter's textfile collector (--output), or served
    with every scrape reading the cloud anew (--listen).

    Exit status: 0, 1 the file could not be written or the address not
    listened on, 2 bad options, 3 the cloud could not be read (the output
    then says sev_scheduler_cloud_up 0).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Set to stop serving; ``server`` is set once serving.
        self.stop = threading.Event()
        self.server = self.collector = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            '--output', metavar='FILE',
            help='write to FILE (replaced atomically) instead of stdout, '
                 "e.g. into node_exporter's --collector.textfile.directory")
        where.add_argument(
            '--listen', metavar='ADDRESS:PORT', type=listen_address,
            help='serve the metrics over HTTP until interrupted')
        parser.add_argument(
            '--audit', action='store_true',
            help='also run sev-scheduler audit and count its findings by '
                 'kind (reads every server)')
        base.add_scheduler_conf_argument(parser)
        self.add_cloud_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        base.use_scheduler_conf(parsed_args)
        self.collector = metrics.CloudCollector(self.cloud(parsed_args),
                                                audit=parsed_args.audit)
        registry = metrics.registry(self.collector)
        if parsed_args.listen:
            self.serve(registry, *parsed_args.listen)
            return
        data = metrics.exposition(registry)
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

    def run(self, parsed_args):
        try:
            super().run(parsed_args)
        except ValueError as error:
            self.app.LOG.error('%s', error)
            return audit_cmd.BAD_OPTIONS
        except sev_cloud.CloudError as error:
            self.app.LOG.error('Could not read the cloud: %s', error)
            return audit_cmd.CLOUD_UNREADABLE
        except OSError as error:
            self.app.LOG.error('Could not write or serve the metrics: %s',
                               error)
            return 1
        if self.collector.error:
            return audit_cmd.CLOUD_UNREADABLE
        return 0
