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

"""Devices that reach a guest without a PCI request: Cyborg and mdevs.

Each host here has the device, so Placement finds a candidate and only
SEVFilter stands between an encrypted guest and the device.
"""

import copy

import fixtures
from oslo_config import cfg
from oslo_utils import uuidutils

import nova.conf.devices
from nova.tests import fixtures as nova_fixtures
from nova.virt.libvirt import utils as libvirt_utils

from sev_scheduler.tests.functional import base

MDEV_TYPE = base.fakelibvirt.NVIDIA_11_VGPU_TYPE
MDEV_CLASS = 'CUSTOM_NVIDIA_11'


class CyborgTestCase(base.SEVTestBase):
    """A Cyborg FPGA on an SEV host, as Nova's own accelerator tests have."""

    def setUp(self):
        super().setUp()
        self.cyborg = self.useFixture(nova_fixtures.CyborgFixture())
        self.start_host('sev_fpga', slots=2)
        self._add_device_provider('sev_fpga')
        self.create_flavor('sev_accel', {
            'hw:mem_encryption': 'true',
            'accel:device_profile': self.cyborg.dp_name})
        self.create_flavor('plain_accel', {
            'accel:device_profile': self.cyborg.dp_name})

    def _add_device_provider(self, hostname):
        """The FPGA provider Cyborg would report under the host."""
        body = {'name': hostname + '_fpga',
                'parent_provider_uuid': self.compute_rp_uuids[hostname]}
        device = self.placement.post('/resource_providers', version='1.20',
                                     body=body).body
        self._update_inventory(device['uuid'], {
            'resource_provider_generation': 0,
            'inventories': {'FPGA': {'total': 2, 'max_unit': 2}}})
        self._create_trait(self.cyborg.trait)
        self._set_provider_traits(device['uuid'], [self.cyborg.trait])

    def _port(self):
        # The fake libvirt checks that a hostdev interface is a VF of the
        # host's own PCI devices: Cyborg's fixture names a device it has not.
        self.useFixture(fixtures.MockPatch(
            'nova.tests.fixtures.libvirt.Domain.'
            'verify_hostdevs_interface_are_vfs'))
        port = copy.deepcopy(self.neutron.ports_with_accelerator[0])
        # What the libvirt driver needs of a bound hw_veb port.
        port['binding:vif_details'] = {'vlan': 100}
        self.neutron._ports[port['id']] = port
        return port['id']

    def _boot_with_port(self, port, image, expected_state):
        body = self._build_server(image_uuid=self.images[image],
                                  flavor_id=self.flavors['plain'],
                                  networks=[{'port': port}])
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected_state)

    def test_flavor_device_profile_refused(self):
        server = self.boot(flavor='sev_accel', image='sev',
                           expected_state='ERROR')
        self.assertEqual(
            "No valid host was found. Memory encryption (amd-sev) cannot be "
            "used with Cyborg accelerator: flavor device profile '%s'"
            % self.cyborg.dp_name, self.fault_of(server))

    def test_flavor_device_profile_plain_boots(self):
        # The host has the accelerator: the refusal above is SEVFilter's.
        server = self.boot(flavor='plain_accel')
        self.assertEqual('sev_fpga', self.host_of(server))

    def test_accelerator_port_refused(self):
        port = self._port()
        server = self._boot_with_port(port, 'sev', 'ERROR')
        self.assert_refused(server, "Cyborg accelerator: port %s" % port)

    def test_accelerator_port_plain_boots(self):
        server = self._boot_with_port(self._port(), 'plain', 'ACTIVE')
        self.assertEqual('sev_fpga', self.host_of(server))


class MdevClassTestCase(base.SEVTestBase):
    """vGPUs reported under a custom resource class, as an operator can."""

    def setUp(self):
        self.configure_devices()
        # The [mdev_$TYPE] groups exist once the types are enabled.
        nova.conf.devices.register_dynamic_opts(cfg.CONF)
        # Nova maps a class to a GPU named by its address, not by default.
        self.flags(mdev_class=MDEV_CLASS, device_addresses=[
            '{}:{}:{}.{}'.format(*address[4:].split('_')) for address in (
                base.fakelibvirt.MDEVCAP_DEV1_PCI_ADDR,
                base.fakelibvirt.MDEVCAP_DEV2_PCI_ADDR)],
            group='mdev_' + MDEV_TYPE)
        super().setUp()
        # As Nova's own vGPU tests do: the fake host cannot create mdevs.
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.driver.LibvirtDriver._create_mdev',
            side_effect=self._create_mdev))
        self.start_host('sev_devices', slots=2, pci_info=self.with_devices())

    def _create_mdev(self, dev_name, mdev_type, uuid=None):
        uuid = uuid or uuidutils.generate_uuid()
        name = libvirt_utils.mdev_uuid2name(uuid)
        connection = self.computes['sev_devices'].driver._host.get_connection()
        connection.mdev_info.devices[name] = base.fakelibvirt.FakeMdevDevice(
            dev_name=name, type_id=mdev_type, parent=dev_name)
        return uuid

    def _boot(self, key, encrypted=True):
        extra_specs = {key: '1'}
        if encrypted:
            extra_specs['hw:mem_encryption'] = 'true'
        self.create_flavor('mdev', extra_specs)
        return self.boot(flavor='mdev', image='sev' if encrypted else 'plain',
                         expected_state='ERROR' if encrypted else 'ACTIVE')

    def test_mdev_custom_class_plain_boots(self):
        # The host has the mdev: the refusals below are SEVFilter's.
        server = self._boot('resources:' + MDEV_CLASS, encrypted=False)
        self.assertEqual('sev_devices', self.host_of(server))

    def test_mdev_custom_class_refused(self):
        server = self._boot('resources:' + MDEV_CLASS)
        self.assert_refused(
            server, "mdev or device: resources:%s=1 "
            "(see safe_resource_classes)" % MDEV_CLASS)

    def test_mdev_custom_class_numbered_group_refused(self):
        server = self._boot('resources1:' + MDEV_CLASS)
        self.assert_refused(server, "resources1:%s=1" % MDEV_CLASS)
