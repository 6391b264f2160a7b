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

"""``sev-scheduler capacity``: encryption slots left in the cloud."""

from cliff import lister

from sev_scheduler.cmd import base
from sev_scheduler import confidential
from sev_scheduler.operators import capacity
from sev_scheduler.operators import cloud as sev_cloud


class Capacity(base.CloudCommand, lister.Lister):
    """Encryption slots per host and model: total, used, free.

    Read from Placement in a few calls, for both provider layouts (the
    compute node's root provider before Nova 2025.2, a child provider per
    model since) and every model the installed os-traits names. Credentials
    come from clouds.yaml (--os-cloud) or OS_* variables, as for the
    openstack client, or from the [placement] section of a nova.conf
    (--nova-conf). With the scheduler's nova.conf offering devices in
    confidential-computing mode to SEV-SNP guests ([sev_scheduler]
    snp_pci_aliases), a last column counts those free on each host with
    SEV-SNP slots.
    """

    verdicts = ((base.OK, 'the slots were read'),)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--nova-conf', metavar='FILE', action='append',
            help='read credentials from the [placement] section of this '
                 'nova.conf, and the confidential-device options of '
                 '[sev_scheduler] and [pci] (repeatable, later files win)')
        self.add_cloud_arguments(parser)
        return parser

    def cloud(self, parsed_args):
        if getattr(parsed_args, 'nova_conf', None):
            return sev_cloud.from_nova_conf(parsed_args.nova_conf)
        return super().cloud(parsed_args)

    def take_action(self, parsed_args):
        cloud = self.cloud(parsed_args)
        base.use_scheduler_conf(parsed_args)
        slots = capacity.read(cloud)
        devices = capacity.confidential_devices(cloud)
        self.app.LOG.debug('%d Placement calls', cloud.calls['placement'])
        rows = [(row.host, row.model, row.total, row.used,
                 row.total - row.used) for row in
                slots + capacity.totals(slots)]
        columns = ('Host', 'Model', 'Total', 'Used', 'Free')
        if not devices:
            return columns, rows
        devices['(cloud)'] = sum(devices.values())
        return (columns + ('CC devices free',),
                [row + (devices.get(row[0], 0)
                        if row[1] == confidential.MODEL else '-',)
                 for row in rows])
