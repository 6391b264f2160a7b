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

"""``sev-scheduler explain``: why a server did not boot, or would not."""

from cliff import show

from nova.network import model as network_model
from nova.objects import fields

from sev_scheduler.cmd import base
from sev_scheduler.operators import explain
from sev_scheduler.operators import lookup

VNIC_TYPES = sorted(
    set(network_model.VNIC_TYPES_SRIOV +
        network_model.VNIC_TYPES_ACCELERATOR +
        (network_model.VNIC_TYPE_NORMAL, network_model.VNIC_TYPE_BAREMETAL)))

HOST_FIELDS = ('host', 'model', 'total', 'used', 'free', 'ram_ratio', 'cap',
               'service', 'verdict')


def _host(host):
    return {'host': host.name, 'model': host.model, 'total': host.total,
            'used': host.used, 'free': host.free,
            'ram_ratio': host.ram_ratio,
            'cap': ('%d (%s)' % (host.cap, host.cap_source) if host.cap
                    else 'none'),
            'service': host.service,
            'verdict': ('can take it' if host.fits
                        else '; '.join(host.reasons))}


def _host_line(row):
    return ('%(host)s: %(model)s %(used)d of %(total)d used, %(free)d free; '
            'RAM ratio %(ram_ratio)s; cap %(cap)s; nova-compute '
            '%(service)s: %(verdict)s' % row)


class Explain(base.CloudCommand, show.ShowOne):
    """Say why a server did not boot, or whether a request would.

    For a server (usually in ERROR), or for a flavor and an image not
    booted yet: the request as SEVFilter reads it, the filter's own
    request-level verdict, Nova's Placement query, and for every host with
    slots of the model why it can or cannot take the guest (slots, RAM
    allocation ratio in Placement, cap, isolation, nova-compute service).
    The last field, Answer, is one line to paste. The [sev_scheduler]
    options are the scheduler's when --nova-conf names its nova.conf.

    A server whose fault is SEVFilter's refusal is refused for that
    reason. A server placed on a host is answered with where it runs and
    the slots it holds; --again judges whether it would fit if scheduled
    again (a move, a rebuild, an unshelve), what it holds counted free.
    What the API does not show (the disk bus of a volume or the ports of a
    server never placed) may be refused: a fit is then "cannot tell".
    """

    verdicts = ((base.OK, 'would fit; or the server runs, holding the slot '
                          'it asks for'),
                (base.WARNING, 'cannot tell: would fit as far as the API '
                               'shows; or the server runs without the slot '
                               'it asks for'),
                (base.FAILURE, 'refused: would not fit, or SEVFilter '
                               'refused it (its fault)'))

    def get_description(self):
        return '%s\n\n%s' % (super().get_description(), base.UNSEEN_PATHS)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'server', metavar='SERVER', nargs='?',
            help='name or ID of the server to explain')
        parser.add_argument(
            '--flavor', metavar='FLAVOR',
            help='a request not made yet: flavor name or ID (with --image)')
        parser.add_argument(
            '--image', metavar='IMAGE',
            help='a request not made yet: image name or ID (with --flavor)')
        parser.add_argument(
            '--volume-bus', metavar='BUS', action='append', default=[],
            choices=fields.DiskBus.ALL,
            help='a data volume on this disk bus (repeatable)')
        parser.add_argument(
            '--port-vnic-type', metavar='TYPE', action='append', default=[],
            choices=VNIC_TYPES,
            help='a port of this vnic_type (repeatable)')
        parser.add_argument(
            '--again', action='store_true',
            help='for a SERVER placed on a host: judge as well whether it '
                 'would fit if scheduled again (a move, a rebuild, an '
                 'unshelve), counting its own slot and what it holds on its '
                 'host as free')
        base.add_scheduler_conf_argument(parser)
        self.add_cloud_arguments(parser)
        return parser

    @staticmethod
    def _check_arguments(parsed_args):
        if parsed_args.server:
            if (parsed_args.flavor or parsed_args.image or
                    parsed_args.volume_bus or parsed_args.port_vnic_type):
                raise base.UsageError(
                    'give either SERVER or --flavor and --image, not both')
        elif parsed_args.again:
            raise base.UsageError(
                '--again judges a SERVER placed on a host: give its name '
                'or ID')
        elif not (parsed_args.flavor and parsed_args.image):
            raise base.UsageError(
                'give SERVER, or --flavor and --image for a request not '
                'made yet')

    @staticmethod
    def _asked(cloud, parsed_args):
        if parsed_args.server:
            return lookup.for_server(cloud, parsed_args.server)
        return lookup.for_request(
            cloud, parsed_args.flavor, parsed_args.image,
            parsed_args.volume_bus, parsed_args.port_vnic_type)

    def take_action(self, parsed_args):
        self._check_arguments(parsed_args)
        if parsed_args.nova_conf:
            explain.configure(parsed_args.nova_conf)
            source = ', '.join(parsed_args.nova_conf)
        else:
            source = 'no --nova-conf'
        cloud = self.cloud(parsed_args)
        result = explain.explain(cloud, self._asked(cloud, parsed_args),
                                 source, again=parsed_args.again)
        self.exit_code = result.exit_code
        hosts = [_host(host) for host in result.hosts]
        fields_ = [name for name, _ in result.rows] + [
            'Verdict', 'Placement', 'Hosts', 'Answer']
        values = [value for _, value in result.rows] + [
            result.verdict or ['no request-level refusal'],
            result.placement, hosts, result.answer]
        if parsed_args.formatter not in ('json', 'yaml'):
            values = [self._text(field, value)
                      for field, value in zip(fields_, values)]
        return fields_, values

    @staticmethod
    def _text(field, value):
        """One line per item (the output escapes and joins them)."""
        if field == 'Hosts':
            return [_host_line(row) for row in value] or '(none)'
        if isinstance(value, list):
            return value or '(none)'
        return value

    def status(self):
        return self.exit_code
