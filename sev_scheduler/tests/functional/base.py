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

"""Nova's in-process cloud with SEV and plain fake libvirt hosts.

The real API, conductor, scheduler and Placement run in process on sqlite;
compute hosts are Nova's fake libvirt driver, each with its own domain
capabilities (SEV or not, ``maxGuests`` slots). SEVFilter is enabled with
the README's nova.conf lines.

The harness of every supported Nova (2025.1 to 2026.2) runs these
scenarios; what differs between their harnesses and libvirt drivers is
bridged here, and only here. What differs for the product is
``sev_scheduler.compat``'s, which the scenarios read to know what the
running Nova honours.
"""

import copy
import os
import sys
import time
import unittest

import fixtures
import os_resource_classes as orc
from oslo_serialization import jsonutils
from oslo_utils.fixture import uuidsentinel as uuids
from oslo_utils import versionutils

import nova.conf
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base
from nova import utils
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host

from sev_scheduler import capacity
from sev_scheduler import compat
from sev_scheduler.tests.unit import releases
from sev_scheduler.tests.unit import test_scheduler_service

SEV_FEATURES = '''  <features>
    <gic supported='no'/>
    <sev supported='yes'>
      <cbitpos>47</cbitpos>
      <reducedPhysBits>1</reducedPhysBits>
      <maxGuests>%(slots)d</maxGuests>
      <maxESGuests>%(es_slots)d</maxESGuests>
    </sev>%(launch_security)s
  </features>'''
SNP_LAUNCH_SECURITY = '''
    <launchSecurity supported='yes'>
      <enum name='sectype'>
        <value>sev</value>
        <value>sev-snp</value>
      </enum>
    </launchSecurity>'''
NO_SEV_FEATURES = '''  <features>
    <gic supported='no'/>
    <sev supported='no'/>
  </features>'''

# Image properties Nova requires of an encrypted guest.
SEV_IMAGE = {'hw_firmware_type': 'uefi', 'hw_machine_type': 'q35',
             'hw_mem_encryption': 'True'}

SLOT = orc.MEM_ENCRYPTION_CONTEXT

CONF = nova.conf.CONF

# What the running Nova's libvirt driver does, for the harness only.
#: Since 2025.2 a host's slots are on a child provider per model, named
#: <nodename>_amd_sev, _amd_sev_es...; before, on its root provider.
SLOTS_ON_CHILD_PROVIDERS = hasattr(
    libvirt_driver.LibvirtDriver,
    '_update_provider_tree_for_memory_encryption')
#: The QEMU that SEV-ES needs (since 2025.2; no SEV-ES before).
_SEV_ES_QEMU = getattr(libvirt_host, 'MIN_QEMU_SEV_ES_VERSION', None)

NOVA = releases.NOVA


needs_model = releases.requires_model
refused_model = releases.refuses_model
needs_slot_option = releases.requires_slot_option


#: Skip a scenario about hosts with slots on child providers.
needs_child_providers = unittest.skipUnless(
    SLOTS_ON_CHILD_PROVIDERS, 'slots move to child providers in OpenStack '
    '2025.2 (Nova 32), whose scheduler is upgraded first; this is %s'
    % NOVA)


class KernelAmdSevFixture(fixtures.Fixture):
    """Which models the kvm_amd module of the next host to start enables.

    What Nova's own ``AmdSevFixture`` (2026.2) does, for the Novas that
    have none: the harness makes their kvm_amd parameter files absent, so
    no host would have SEV. Nova 2025.1 asks about the 'sev' file alone
    (no model argument).
    """

    def __init__(self):
        super().__init__()
        self.sev = self.sev_es = self.sev_snp = False

    def _setUp(self):
        def kernel_supports(model='sev'):
            return {'sev': self.sev, 'sev-es': self.sev_es,
                    'sev-snp': self.sev_snp}[model]

        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.host.Host._kernel_supports_amd_sev',
            side_effect=kernel_supports))


class SEVTestBase(base.ServersTestBase):
    """A cloud where some hosts offer SEV slots and some do not."""

    microversion = 'latest'
    #: Nova's filters enabled before SEVFilter, beyond the README's.
    NOVA_FILTERS = ()

    def setUp(self):
        # The wheel installs api-paste.ini under <prefix>/etc/nova, not
        # where the harness looks for it.
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self._features = {}
        super().setUp()
        # What a new scheduler process has read from Placement: nothing.
        self.useFixture(fixtures.MockPatchObject(capacity, 'CACHE',
                                                 capacity.Cache()))
        # Nova's own AmdSevFixture since 2026.2, ours before.
        self.amd_sev = (getattr(self.libvirt, 'amd_sev', None) or
                        self.useFixture(KernelAmdSevFixture()))
        self.qemu_version = (versionutils.convert_version_to_int(
            _SEV_ES_QEMU) if _SEV_ES_QEMU else None)
        self.images = {}
        self.create_image('plain', {})
        self.create_image('sev', SEV_IMAGE)
        self.create_image('sev_es', dict(
            SEV_IMAGE, hw_mem_encryption_model='amd-sev-es'))
        self.create_image('sev_snp', dict(
            SEV_IMAGE, hw_mem_encryption_model='amd-sev-snp',
            hw_firmware_stateless='True'))
        self.flavors = {
            'plain': self._create_flavor(name='plain', memory_mb=512,
                                         vcpu=1, disk=1),
            'sev': self._create_flavor(
                name='sev', memory_mb=512, vcpu=1, disk=1,
                extra_spec={'hw:mem_encryption': 'true'}),
        }

    def configure_devices(self):
        """Offer a PCI device (alias 'gpu') and vGPUs on hosts with_devices.

        Call before setUp: the API reads the alias when it starts.
        """
        self.flags(group='pci', device_spec=[jsonutils.dumps(
            {'vendor_id': fakelibvirt.PCI_VEND_ID,
             'product_id': fakelibvirt.PCI_PROD_ID})], alias=[jsonutils.dumps(
                 {'vendor_id': fakelibvirt.PCI_VEND_ID,
                  'product_id': fakelibvirt.PCI_PROD_ID,
                  'device_type': 'type-PCI', 'name': 'gpu'})])
        self.flags(group='devices',
                   enabled_mdev_types=[fakelibvirt.NVIDIA_11_VGPU_TYPE])

    @staticmethod
    def with_devices():
        """One passthrough PCI device and two vGPU-capable GPUs."""
        return fakelibvirt.HostPCIDevicesInfo(num_pci=1, num_pfs=0,
                                              num_vfs=0, num_mdevcap=2)

    def allow_cold_migration(self):
        """As Nova's own tests do: the fake driver cannot copy disks."""
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.LibvirtDriver'
            '.migrate_disk_and_power_off', return_value='{}'))

    def disable_host(self, hostname):
        """Disable a host's compute service, as an operator would."""
        service = self.admin_api.get_services(
            host=hostname, binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {'status': 'disabled'})

    def migrate(self, server, host=None):
        """Cold migrate a server as an admin, to a host or where it fits.

        Waits for VERIFY_RESIZE. Nova's ``_migrate_server`` takes no
        ``api`` before 2026.1, and migration is an admin action.
        """
        self.admin_api.post_server_action(server['id'],
                                          {'migrate': {'host': host}})
        return self._wait_for_state_change(server, 'VERIFY_RESIZE')

    def _wait_for_server_parameter(self, server, expected_params,
                                   max_retries=10, api=None, **kwargs):
        """Nova's wait, with room for a loaded machine and the fault.

        Nova gives up after 5 s, which 2 shared cores can exceed; before
        2026.2 it returns a server in ERROR before its fault is recorded.
        """
        server = super()._wait_for_server_parameter(
            server, expected_params, max(max_retries, 60), api=api, **kwargs)
        if (expected_params.get('status') == 'ERROR' and
                kwargs.get('wait_for_fault_key', True)):
            server = self.settle(server)
        return server

    def _wait_for_migration_status(self, server, expected_statuses):
        """Nova's wait, with room for a loaded machine.

        Nova gives up after 5 s, which 2 shared cores can exceed.
        """
        for _ in range(11):
            try:
                return super()._wait_for_migration_status(
                    server, expected_statuses)
            except self.failureException:
                pass
        return super()._wait_for_migration_status(server, expected_statuses)

    def restart_scheduler(self):
        """Restart the scheduler, so that it reads changed options."""
        self.scheduler.stop()
        self.scheduler = self._setup_scheduler_service()
        self.addCleanup(self.scheduler.stop)

    def _setup_scheduler_service(self):
        test_scheduler_service.apply_readme_nova_conf(self)
        if self.NOVA_FILTERS:
            enabled = list(CONF.filter_scheduler.enabled_filters)
            at = enabled.index('SEVFilter')
            enabled[at:at] = self.NOVA_FILTERS
            self.flags(enabled_filters=enabled, group='filter_scheduler')
        return self.start_service('scheduler')

    def create_image(self, name, properties):
        image = copy.deepcopy(self.glance.image1)
        image['id'] = getattr(uuids, 'image_' + name)
        image['name'] = name
        image['properties'] = dict(image['properties'], **properties)
        self.glance.create(None, image)
        self.images[name] = image['id']
        return image['id']

    def _get_connection(self, host_info=None, pci_info=None, mdev_info=None,
                        vdpa_info=None, libvirt_version=None,
                        qemu_version=None, hostname=None):
        connection = super()._get_connection(
            host_info, pci_info, mdev_info, vdpa_info, libvirt_version,
            qemu_version, hostname)
        connection._domain_capability_features = self._features.get(
            hostname, NO_SEV_FEATURES)
        return connection

    def start_host(self, hostname, slots=0, es_slots=0, snp=False,
                   ram_allocation_ratio=1.0, pci_info=None,
                   stateless_firmware=False):
        """Start a compute host offering ``slots`` SEV slots (0: no SEV).

        ``es_slots`` are SEV-ES slots, or SEV-SNP slots with ``snp``: the
        two models share the ES pool and Nova offers SNP alone when the
        host has it. SEV-SNP hosts, and those with ``stateless_firmware``,
        have a libvirt that supports stateless firmware.

        :param pci_info: the host's fake PCI devices, a
            ``fakelibvirt.HostPCIDevicesInfo``.
        """
        self.amd_sev.sev = bool(slots)
        self.amd_sev.sev_es = bool(es_slots)
        self.amd_sev.sev_snp = snp
        self._features[hostname] = (
            SEV_FEATURES % {'slots': slots, 'es_slots': es_slots,
                            'launch_security': SNP_LAUNCH_SECURITY
                            if snp else ''}
            if slots else NO_SEV_FEATURES)
        # A new compute node takes its ratio from the initial one.
        self.flags(initial_ram_allocation_ratio=ram_allocation_ratio)
        # SEV-SNP needs stateless firmware support in libvirt.
        libvirt_version = versionutils.convert_version_to_int(
            libvirt_driver.MIN_LIBVIRT_STATELESS_FIRMWARE) if (
                snp or stateless_firmware) else None
        return self.start_compute(hostname, pci_info=pci_info,
                                  libvirt_version=libvirt_version,
                                  qemu_version=self.qemu_version)

    def set_memory_ratio(self, hostname, ratio):
        """Set MEMORY_MB's allocation ratio in Placement, as an operator may.

        With ``[DEFAULT] ram_allocation_ratio`` unset the compute keeps it;
        HostState's ratio stays what it was.
        """
        rp_uuid = self.compute_rp_uuids[hostname]
        body = self.placement.get(
            '/resource_providers/%s/inventories' % rp_uuid).body
        body['inventories'][orc.MEMORY_MB]['allocation_ratio'] = ratio
        self.placement.put('/resource_providers/%s/inventories' % rp_uuid,
                           body=body)

    def create_flavor(self, name, extra_specs):
        """A flavor with extra specs as an operator could have stored them.

        Microversion 2.85, before Nova validated extra spec values: clouds
        upgraded from older releases still hold such flavors.
        """
        flavor_id = self._create_flavor(name=name, memory_mb=512, vcpu=1,
                                        disk=1)
        with utils.temporary_mutation(self.admin_api, microversion='2.85'):
            self.admin_api.post_extra_spec(
                flavor_id, {'extra_specs': extra_specs})
        self.flavors[name] = flavor_id
        return flavor_id

    def boot(self, flavor='plain', image='plain', expected_state='ACTIVE',
             **kwargs):
        return self._create_server(
            flavor_id=self.flavors[flavor], image_uuid=self.images[image],
            networks='none', expected_state=expected_state, **kwargs)

    def boot_with_volume(self, disk_bus=None, flavor='sev', image='sev',
                         expected_state='ERROR', **mapping):
        """Boot from an image with a data volume on ``disk_bus``.

        :param mapping: more of the volume's block device mapping, e.g.
            ``device_type='floppy'``.
        """
        body = self._build_server(
            image_uuid=self.images[image], flavor_id=self.flavors[flavor],
            networks='none')
        volume = {'boot_index': -1, 'source_type': 'volume',
                  'uuid': nova_fixtures.CinderFixture.SWAP_OLD_VOL,
                  'destination_type': 'volume', **mapping}
        if disk_bus is not None:
            volume['disk_bus'] = disk_bus
        body['block_device_mapping_v2'] = [
            {'boot_index': 0, 'uuid': self.images[image],
             'source_type': 'image', 'destination_type': 'local'},
            volume]
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected_state)

    def settle(self, server, attempts=120):
        """Wait until the server is ACTIVE, or in ERROR with its fault."""
        for _ in range(attempts):
            server = self.api.get_server(server['id'])
            if (server['status'] == 'ACTIVE' or
                    server['status'] == 'ERROR' and 'fault' in server):
                return server
            time.sleep(0.25)
        self.fail('server %s did not settle: %s'
                  % (server['name'], server['status']))

    def host_of(self, server):
        server = self.admin_api.get_server(server['id'])
        return server['OS-EXT-SRV-ATTR:host']

    def fault_of(self, server):
        """The fault message a non-admin user sees."""
        return self.api.get_server(server['id'])['fault']['message']

    def assert_refused(self, server, *words):
        self.assertEqual('ERROR', server['status'])
        message = self.fault_of(server)
        self.assertIn('No valid host was found.', message)
        for word in words:
            self.assertIn(word, message)
        return message

    def slot_provider(self, hostname, model=compat.AMD_SEV):
        """The UUID of the provider with a host's slots of a model, or None.

        A child provider named ``<hostname>_<model>`` since Nova 2025.2;
        before, the compute node's root provider (AMD SEV only).
        """
        rps = self.placement.get(
            '/resource_providers?name=%s_%s'
            % (hostname, model.replace('-', '_')),
            version='1.14').body['resource_providers']
        if rps:
            return rps[0]['uuid']
        root = self.compute_rp_uuids[hostname]
        if (model == compat.AMD_SEV and
                SLOT in self._get_provider_inventory(root)):
            return root
        return None

    def expected_slot_provider(self, hostname, model=compat.AMD_SEV):
        """Where the running Nova puts a host's slots of a model."""
        root = self.compute_rp_uuids[hostname]
        if not SLOTS_ON_CHILD_PROVIDERS:
            return root
        name = '%s_%s' % (hostname, model.replace('-', '_'))
        children = [rp for rp in self._get_all_rps_in_a_tree(root)
                    if rp['name'] == name]
        self.assertEqual(1, len(children), 'no provider %s' % name)
        self.assertEqual(root, children[0]['parent_provider_uuid'])
        return children[0]['uuid']

    def slots_used(self, hostname, model=compat.AMD_SEV):
        """MEM_ENCRYPTION_CONTEXT used on a host's slot provider."""
        provider = self.slot_provider(hostname, model)
        if provider is None:
            return None
        return self._get_provider_usages(provider).get(SLOT, 0)

    def slots_total(self, hostname, model=compat.AMD_SEV):
        """A host's MEM_ENCRYPTION_CONTEXT inventory of a model."""
        provider = self.slot_provider(hostname, model)
        if provider is None:
            return None
        return self._get_provider_inventory(provider)[SLOT]['total']

    def assert_holds_one_slot(self, server, hostname, model=compat.AMD_SEV):
        """The server holds one slot, on the host's provider for the model.

        Checked against where the running Nova puts slots (root or child
        provider), so that a slot taken on the wrong provider shows.
        """
        held = {rp: allocation['resources'][SLOT] for rp, allocation in
                self._get_allocations_by_server_uuid(server['id']).items()
                if SLOT in allocation['resources']}
        self.assertEqual(
            {self.expected_slot_provider(hostname, model): 1}, held)
