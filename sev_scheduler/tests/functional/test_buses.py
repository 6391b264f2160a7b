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

"""Disks, cdroms and floppies on the bus the libvirt driver gives them.

An ISO image boots from a cdrom on ``hw_cdrom_bus``; a floppy volume sits
on ``hw_floppy_bus`` (``fdc`` by default). Without SEVFilter these boot
ACTIVE on an SEV host.
"""

from lxml import etree

from nova import context as nova_context
from nova import objects
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client

from sev_scheduler.tests.functional import base
from sev_scheduler.tests.unit import test_scheduler_service

VOLUME = nova_fixtures.CinderFixture.SWAP_OLD_VOL


class BusTestCase(base.SEVTestBase):
    """Only virtio, sata, and scsi with virtio-scsi reach encrypted guests."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=4)

    def create_iso_image(self, name, **properties):
        image_id = self.create_image(name, dict(base.SEV_IMAGE, **properties))
        self.glance.update(None, image_id, {'disk_format': 'iso'})
        return image_id

    def test_iso_on_usb_cdrom_refused(self):
        self.create_iso_image('iso_usb', hw_cdrom_bus='usb')
        server = self.boot(flavor='sev', image='iso_usb',
                           expected_state='ERROR')
        self.assert_refused(server, "boot cdrom bus 'usb' (image property "
                            "hw_cdrom_bus)")

    def test_iso_on_scsi_cdrom_without_virtio_scsi_refused(self):
        self.create_iso_image('iso_scsi', hw_cdrom_bus='scsi',
                              hw_scsi_model='lsilogic')
        server = self.boot(flavor='sev', image='iso_scsi',
                           expected_state='ERROR')
        self.assert_refused(server, "boot cdrom bus 'scsi' without "
                            "hw_scsi_model=virtio-scsi")

    def test_iso_on_virtio_scsi_cdrom_boots(self):
        self.create_iso_image('iso_virtio_scsi', hw_cdrom_bus='scsi',
                              hw_scsi_model='virtio-scsi')
        server = self.boot(flavor='sev', image='iso_virtio_scsi')
        self.assertEqual('sev1', self.host_of(server))

    def test_iso_on_default_cdrom_boots(self):
        # A q35 guest's cdrom is on sata.
        self.create_iso_image('iso')
        server = self.boot(flavor='sev', image='iso')
        self.assertEqual('sev1', self.host_of(server))

    def test_floppy_volume_on_ide_refused(self):
        self.create_image('sev_floppy_ide', dict(base.SEV_IMAGE,
                                                 hw_floppy_bus='ide'))
        server = self.boot_with_volume(image='sev_floppy_ide',
                                       device_type='floppy')
        self.assert_refused(
            server, "the IDE bus: floppy volume %s (image property "
            "hw_floppy_bus=ide)" % nova_fixtures.CinderFixture.SWAP_OLD_VOL)

    def test_floppy_volume_on_default_bus_refused(self):
        server = self.boot_with_volume(device_type='floppy')
        self.assert_refused(server, "the FDC bus: floppy volume")


class DeviceNameTestBase(base.SEVTestBase):
    """Device names, judged as the libvirt driver uses them.

    Each scenario first runs with SEVFilter disabled: the bus the guest's
    domain XML then gives the device is the truth the filter must match. A
    new server's compute drops the names its user gave but the root's; on
    a move the names the compute recorded still choose a bus.
    """

    #: Whether the next scheduler started runs SEVFilter.
    sev_filter = True

    def setUp(self):
        super().setUp()
        self.allow_cold_migration()
        self.start_host('sev1', slots=4)
        self.start_host('sev2', slots=4)

    def _setup_scheduler_service(self):
        if self.sev_filter:
            return super()._setup_scheduler_service()
        # The same cloud without the plugin's filter.
        test_scheduler_service.apply_readme_nova_conf(self)
        self.flags(enabled_filters=[
            name for name in base.CONF.filter_scheduler.enabled_filters
            if name != 'SEVFilter'], group='filter_scheduler')
        return self.start_service('scheduler')

    def without_sev_filter(self, scenario):
        """Run ``scenario`` with SEVFilter disabled, then enable it again.

        :returns: what ``scenario`` returns.
        """
        self.sev_filter = False
        self.restart_scheduler()
        try:
            return scenario()
        finally:
            self.sev_filter = True
            self.restart_scheduler()

    def buses(self, server):
        """{device name: bus} of the disks in the server's domain XML."""
        host = self.computes[self.host_of(server)].driver._host
        domain = host.get_connection().lookupByUUIDString(server['id'])
        return {'/dev/' + target.get('dev'): target.get('bus')
                for target in etree.fromstring(domain.XMLDesc(0)).findall(
                    './devices/disk/target')}

    def volume_bus(self, server, volume_id=VOLUME):
        """The bus of a volume, found by the device name the API shows."""
        device = self.api.get_server_volume(server['id'], volume_id)['device']
        return self.buses(server)[device]

    def root_bus(self, server):
        server = self.admin_api.get_server(server['id'])
        return self.buses(server)[
            server['OS-EXT-SRV-ATTR:root_device_name']]

    def boot_with_root(self, expected_state='ERROR', **root):
        """Boot from the SEV image with ``root`` in its root mapping."""
        body = self._build_server(image_uuid=self.images['sev'],
                                  flavor_id=self.flavors['sev'],
                                  networks='none')
        body['block_device_mapping_v2'] = [dict(
            boot_index=0, uuid=self.images['sev'], source_type='image',
            destination_type='local', **root)]
        server = self.api.post_server({'server': body})
        return self._wait_for_state_change(server, expected_state)

    def record_device_name(self, server, device_name, volume_id=VOLUME):
        """Make a volume's mapping one a compute recorded at attachment.

        A volume attached to a running guest is recorded with the name the
        driver gave it and no bus.
        """
        context = nova_context.get_admin_context()
        cell = objects.InstanceMapping.get_by_instance_uuid(
            context, server['id']).cell_mapping
        with nova_context.target_cell(context, cell) as cell_context:
            bdm = objects.BlockDeviceMapping.get_by_volume_and_instance(
                cell_context, volume_id, server['id'])
            bdm.device_name = device_name
            bdm.disk_bus = None
            bdm.save()

    def boot_with_recorded_name(self):
        """An active server whose volume's mapping holds /dev/hdb, no bus."""
        server = self.boot_with_volume(uuid=VOLUME, expected_state='ACTIVE')
        self.record_device_name(server, '/dev/hdb')
        return server

    def moved_volume_bus_without_filter(self, move):
        """With SEVFilter disabled, the bus of a recorded /dev/hdb volume.

        :param move: moves a server, returns it once moved.
        """
        def scenario():
            server = move(self.boot_with_recorded_name())
            bus = self.volume_bus(server)
            self._delete_server(server)
            return bus
        return self.without_sev_filter(scenario)

    def _volume_bus_without_filter(self, **mapping):
        def scenario():
            server = self.boot_with_volume(uuid=VOLUME,
                                           expected_state='ACTIVE', **mapping)
            bus = self.volume_bus(server)
            self._delete_server(server)
            return bus
        return self.without_sev_filter(scenario)


class DeviceNameTestCase(DeviceNameTestBase):
    """A new boot and a cold migration."""

    def test_volume_named_hdb_new_boot_passes(self):
        # The compute drops the name: the image's disk bus.
        self.assertEqual('virtio', self._volume_bus_without_filter(
            device_name='/dev/hdb'))
        server = self.boot_with_volume(device_name='/dev/hdb', uuid=VOLUME,
                                       expected_state='ACTIVE')
        self.assertEqual('virtio', self.volume_bus(server))

    def test_volume_named_hdb_on_xen_bus_new_boot_passes(self):
        # KVM has no xen bus: blockinfo would read the bus from the name,
        # which the compute dropped.
        self.assertEqual('virtio', self._volume_bus_without_filter(
            disk_bus='xen', device_name='/dev/hdb'))
        self.boot_with_volume(disk_bus='xen', device_name='/dev/hdb',
                              uuid=VOLUME, expected_state='ACTIVE')

    def test_volume_on_ide_bus_new_boot_fails(self):
        self.assertEqual('ide', self._volume_bus_without_filter(
            disk_bus='ide', device_name='/dev/vdb'))
        server = self.boot_with_volume(disk_bus='ide', device_name='/dev/vdb',
                                       uuid=VOLUME)
        self.assert_refused(server, "the IDE bus: volume %s (block device "
                            "mapping disk_bus=ide)" % VOLUME)

    def test_root_named_hda_on_xen_bus_new_boot_fails(self):
        # The compute keeps the root's name, as the instance's root device
        # name, and blockinfo reads the bus KVM lacks from it.
        def scenario():
            server = self.boot_with_root(disk_bus='xen',
                                         device_name='/dev/hda',
                                         expected_state='ACTIVE')
            bus = self.root_bus(server)
            self._delete_server(server)
            return bus
        self.assertEqual('ide', self.without_sev_filter(scenario))
        server = self.boot_with_root(disk_bus='xen', device_name='/dev/hda')
        self.assert_refused(server, "boot disk bus 'ide' (device name "
                            "/dev/hda)")

    def test_recorded_name_hdb_cold_migration_fails(self):
        # The destination's driver puts the volume where its name says.
        self.assertEqual('ide',
                         self.moved_volume_bus_without_filter(self.migrate))
        server = self.boot_with_recorded_name()
        error = self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_server_action,
            server['id'], {'migrate': None})
        self.assertIn('NoValidHost', str(error))
        # A move leaves no fault: the reason is in the scheduler's log.
        self.assertIn('the IDE bus: volume %s (device name /dev/hdb)'
                      % VOLUME, self.stdlog.logger.output)


class RebuildDeviceNameTestCase(DeviceNameTestBase):
    """A rebuild with a new image, which the scheduler is asked about."""

    # The API casts a rebuild to the conductor: the refusal must reach the
    # user as the server's fault, not as an API error.
    CAST_AS_CALL = False

    def test_recorded_name_hdb_rebuild_fails(self):
        # A new image: the rebuild goes through the scheduler.
        rebuild = {'rebuild': {'imageRef': self.create_image(
            'sev_new', base.SEV_IMAGE)}}

        def rebuilt(server):
            self.api.post_server_action(server['id'], rebuild)
            # The API set the task state before it answered.
            return self._wait_for_server_parameter(
                server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        # The rebuilt guest's volume is where its recorded name says.
        self.assertEqual('ide', self.moved_volume_bus_without_filter(rebuilt))
        server = self.boot_with_recorded_name()
        self.api.post_server_action(server['id'], rebuild)
        server = self._wait_for_state_change(server, 'ERROR')
        self.assert_refused(server, "the IDE bus: volume %s (device name "
                            "/dev/hdb)" % VOLUME)
