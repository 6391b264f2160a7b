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

"""``sev-scheduler check-host``: is this compute host ready for SEV guests?"""

from cliff import lister

from sev_scheduler.cmd import base
from sev_scheduler.readiness import checks
from sev_scheduler.readiness import facts


def _positive(text):
    value = int(text)
    if value <= 0:
        raise ValueError('must be positive')
    return value


class CheckHost(base.Command, lister.Lister):
    """Check this host's SEV readiness: libvirt, kernel, nova.conf.

    Reads libvirt's domain capabilities, the kvm_amd kernel parameters, the
    misc and machine.slice cgroups, and nova.conf, as Nova's libvirt
    driver does, and counts each model's slots as the installed Nova does:
    where it still reads [libvirt] num_memory_encrypted_guests (before
    2026.2), which of that option and libvirt's maxGuests wins.
    """

    verdicts = ((base.OK, 'every check succeeds'),
                (base.WARNING, 'the worst check is a warning'),
                (base.FAILURE, 'a check fails'))

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--domcapabilities', metavar='FILE',
            help='domain capabilities XML, "-" for stdin (default: run '
                 '"virsh domcapabilities")')
        parser.add_argument(
            '--sysfs-root', metavar='DIR', default='/sys',
            help='where sysfs is mounted (default: /sys)')
        parser.add_argument(
            '--nova-conf', metavar='FILE', action='append',
            help='nova.conf; repeatable, later files win as in Nova '
                 '(default: /etc/nova/nova.conf)')
        parser.add_argument(
            '--per-guest-overhead-mb', metavar='MB', type=_positive,
            default=checks.DEFAULT_PER_GUEST_OVERHEAD_MB,
            help='host memory each encrypted guest needs beyond its own, '
                 'to size the reservation (default: %d)'
                 % checks.DEFAULT_PER_GUEST_OVERHEAD_MB)
        return parser

    def take_action(self, parsed_args):
        host_facts = facts.read(
            parsed_args.domcapabilities, parsed_args.sysfs_root,
            parsed_args.nova_conf or ['/etc/nova/nova.conf'])
        results = checks.run(host_facts, parsed_args)
        self.worst = max(result.code for _name, result in results)
        return (('Check', 'Result', 'Details'),
                [(name, result.code.name.capitalize(), result.details)
                 for name, result in results])

    def status(self):
        return int(self.worst)
