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

"""The demo's cloud: Nova's in-process cloud from the functional tests.

Real API, conductor, scheduler and Placement on sqlite, fake libvirt hosts,
SEVFilter enabled with the README's nova.conf lines; then a scripted series
of requests, one per rule, each recorded as what a user would see.
"""

import collections
import unittest

# Nova's functional package first: its eventlet patching must precede
# oslo.db, which Nova's fixtures import (see tests/functional/__init__.py).
import nova.tests.functional  # noqa: F401
from nova.tests.fixtures import cinder as cinder_fixture  # noqa: H306

from sev_scheduler import compat
from sev_scheduler.tests.functional import base

Options = collections.namedtuple(
    'Options', ['sev_hosts', 'plain_hosts', 'slots'])
Outcome = collections.namedtuple('Outcome', ['request', 'asked', 'result'])


class DemoCloud(base.SEVTestBase):
    """Runs the demo as the one test of a Nova functional test case."""

    # As in production: rebuilds and boots are cast to the conductor.
    CAST_AS_CALL = False

    def __init__(self, options, report, outcomes):
        """Prepare the cloud; it starts when the case runs.

        :param report: shows ``hosts(list)`` and ``progress(line)``.
        :param outcomes: the list each request's Outcome is appended to; it
            outlives the test case, whose attributes Nova's tearDown clears.
        """
        super().__init__('runTest')
        self.options = options
        self.report = report
        self.outcomes = outcomes

    def setUp(self):
        self.configure_devices()
        super().setUp()
        # The script fills every slot of the cloud, whatever its size.
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        self.create_image('sev_usb', dict(base.SEV_IMAGE, hw_disk_bus='usb'))
        self.create_image('sev_ide_cdrom', dict(base.SEV_IMAGE,
                                                hw_cdrom_bus='ide'))
        self.create_flavor('sev_pci', {'hw:mem_encryption': 'true',
                                       'pci_passthrough:alias': 'gpu:1'})
        self.create_flavor('sev_vgpu', {'hw:mem_encryption': 'true',
                                        'resources:VGPU': '1'})
        self.create_flavor('maybe', {'hw:mem_encryption': 'maybe'})
        self.sev_hosts = ['sev-%d' % index
                          for index in range(1, self.options.sev_hosts + 1)]
        for hostname in self.sev_hosts:
            self.start_host(hostname, slots=self.options.slots,
                            es_slots=self.options.slots,
                            pci_info=self.with_devices())
        self.start_host('sev-overcommit', slots=self.options.slots,
                        ram_allocation_ratio=1.5)
        for index in range(1, self.options.plain_hosts + 1):
            self.start_host('plain-%d' % index)
        self.report.hosts([self.describe_host(name)
                           for name in self.computes])

    def describe_host(self, hostname):
        """A host as Placement sees it: slots per model and RAM ratio."""
        root = self.compute_rp_uuids[hostname]
        providers = self.placement.get(
            '/resource_providers?in_tree=%s' % root,
            version='1.14').body['resource_providers']
        slots = {}
        for provider in providers:
            inventory = self._get_provider_inventory(provider['uuid'])
            if provider['uuid'] == root:
                ratio = inventory['MEMORY_MB']['allocation_ratio']
                # Before Nova 2025.2 the slots, AMD SEV ones only, are the
                # root provider's.
                model = compat.AMD_SEV
            else:
                # Since, a child provider's per model: <host>_amd_sev_es...
                model = provider['name'][len(hostname) + 1:].replace('_', '-')
            if base.SLOT in inventory:
                slots[model] = inventory[base.SLOT]['total']
        return {'host': hostname,
                'sev': ', '.join('%s: %d' % item
                                 for item in sorted(slots.items())) or 'no',
                'ram_allocation_ratio': ratio}

    # One scripted request: boot it, wait, record what the user sees.

    def _record(self, request, asked, server):
        if server['status'] == 'ERROR':
            result = server['fault']['message']
        else:
            result = 'landed on %s' % self.host_of(server)
        self.outcomes.append(Outcome(request, asked, result))
        self.report.progress(
            '[%2d] %-22s %s' % (len(self.outcomes), request, result))
        return server

    def _boot(self, request, asked, flavor='plain', image='plain',
              host=None, bdms=None, count=1):
        body = self._build_server(
            name=request, image_uuid=self.images[image],
            flavor_id=self.flavors[flavor], networks='none', host=host)
        if bdms:
            body['block_device_mapping_v2'] = bdms
        body.update(min_count=count, max_count=count)
        api = self.admin_api if host else self.api
        api.post_server({'server': body})
        servers = self.api.get_servers(
            search_opts={'name': r'^%s(-\d+)?$' % request})
        return [self._record(server['name'], asked, self.settle(server))
                for server in sorted(servers, key=lambda s: s['name'])]

    def _free_slots(self):
        """Free amd-sev slots on the hosts SEVFilter accepts."""
        return sum(self.options.slots - self.slots_used(hostname)
                   for hostname in self.sev_hosts)

    def runTest(self):
        plain = self._boot('plain', 'no encryption')[0]
        self._boot('pci-passthrough', 'SEV + pci_passthrough:alias=gpu:1',
                   flavor='sev_pci', image='sev')
        self._boot('vgpu', 'SEV + resources:VGPU=1', flavor='sev_vgpu',
                   image='sev')
        self._boot('usb-boot-disk', 'SEV + hw_disk_bus=usb', image='sev_usb')
        self._boot('ide-volume', 'SEV + a volume with disk_bus=ide',
                   image='sev', bdms=[
                       {'boot_index': 0, 'uuid': self.images['sev'],
                        'source_type': 'image', 'destination_type': 'local'},
                       {'boot_index': -1,
                        'uuid': cinder_fixture.CinderFixture.SWAP_OLD_VOL,
                        'source_type': 'volume',
                        'destination_type': 'volume', 'disk_bus': 'ide'}])
        self._boot('ide-cdrom', 'SEV + hw_cdrom_bus=ide',
                   image='sev_ide_cdrom')
        self._boot('malformed', 'hw:mem_encryption=maybe', flavor='maybe')
        self._boot('sev-overcommitted', 'SEV on host sev-overcommit '
                   '(ram_allocation_ratio 1.5)', image='sev',
                   host='sev-overcommit')
        self._boot('plain-overcommitted', 'no encryption on host '
                   'sev-overcommit', host='sev-overcommit')

        self.api.post_server_action(
            plain['id'], {'rebuild': {'imageRef': self.images['sev']}})
        self._wait_for_state_change(plain, 'ERROR')
        self._record('rebuild-adds-sev', 'rebuild "plain" with an SEV image',
                     self.settle(plain))

        # Slots are taken only now, so the refusals above are SEVFilter's
        # own whatever the cloud's size.
        sev = self._boot('sev-flavor', 'hw:mem_encryption=true (flavor)',
                         flavor='sev', image='sev')[0]
        self._boot('sev-image', 'hw_mem_encryption=true (image)',
                   image='sev')
        self._boot('sev-es-image', 'hw_mem_encryption_model=amd-sev-es',
                   image='sev_es')
        free = self._free_slots()
        self._boot('too-many', '%d SEV servers at once, %d slots free'
                   % (free + 1, free), image='sev', count=free + 1)
        if free:
            self._boot('fill', '%d SEV servers at once' % free,
                       image='sev', count=free)
        self._boot('one-more', 'SEV with every slot taken', image='sev')
        self._delete_server(sev)
        self._boot('after-delete', 'SEV after deleting "sev-flavor"',
                   image='sev')


def run(options, report):
    """Start the cloud and run the script; return the outcomes."""
    outcomes = []
    cloud = DemoCloud(options, report, outcomes)
    result = unittest.TestResult()
    cloud.run(result)
    problems = result.errors + result.failures
    if problems:
        raise RuntimeError('the demo cloud failed: %s'
                           % problems[0][1].strip().splitlines()[-1])
    return outcomes
