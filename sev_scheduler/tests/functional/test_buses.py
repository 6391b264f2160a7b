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

from nova.tests import fixtures as nova_fixtures

from sev_scheduler.tests.functional import base


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
