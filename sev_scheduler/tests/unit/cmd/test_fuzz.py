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

"""No input makes a command print a traceback."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from sev_scheduler.tests.unit.cmd import base

keys = st.sampled_from([
    'hw:mem_encryption', 'hw:mem_encryption_model', 'pci_passthrough:alias',
    'resources:VGPU', 'resources1:VGPU', 'hw_mem_encryption',
    'hw_mem_encryption_model', 'hw_firmware_type', 'hw_firmware_stateless',
    'hw_machine_type', 'hw_disk_bus', 'hw_cdrom_bus', 'hw_scsi_model',
    'hw_video_model']) | st.text(min_size=1, max_size=10)
# Every release's models, whether the running Nova knows them or not.
values = st.sampled_from(['true', 'false', 'amd-sev', 'amd-sev-es',
                          'amd-sev-snp', 'intel-tdx', 'ide', 'uefi', 'q35',
                          'gpu:1', '1', '']) | st.text(max_size=10)
pairs = st.lists(st.tuples(keys, values), max_size=6)


class FuzzTestCase(base.CommandTestCase):

    @settings(max_examples=150, deadline=None)
    @given(pairs, pairs)
    def test_check_request_any_input(self, extra_specs, image_properties):
        argv = ['check-request']
        for key, value in extra_specs:
            argv += ['--extra-spec=%s=%s' % (key, value)]
        for key, value in image_properties:
            argv += ['--image-property=%s=%s' % (key, value)]
        status, _out, _err = self.run_command(*argv)
        # A verdict (0 scheduled, 2 refused), a key check-request cannot
        # read (64, a key with "="), or a value Nova cannot read (255):
        # never cliff's 1, a warning here.
        self.assertIn(status, (0, 2, 64, 255))

    @settings(max_examples=100, deadline=None)
    @given(st.text(max_size=200) | st.sampled_from([
        '<domainCapabilities><features><sev supported="yes"><maxGuests>'
        'x</maxGuests></sev></features></domainCapabilities>',
        '<domainCapabilities><features><launchSecurity supported="yes"/>'
        '</features></domainCapabilities>']))
    def test_check_host_any_xml(self, xml):
        path = self.write_file('caps.xml', xml)
        status, out, _err = self.run_command(
            'check-host', '--domcapabilities', path,
            '--sysfs-root', '/nonexistent', '--nova-conf', path)
        self.assertEqual(2, status)
        self.assertIn('Failure', out)
