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

import io
import os

import fixtures

from sev_scheduler.tests.unit.cmd import base

HOSTS = os.path.join(os.path.dirname(__file__), 'hosts')


def _input(host, *parts):
    """A host's file, or the ready host's where the host has none."""
    path = os.path.join(HOSTS, host, *parts)
    return path if os.path.exists(path) else os.path.join(
        HOSTS, 'ready', *parts)


class CheckHostTestCase(base.CommandTestCase):

    def _check_host(self, host='ready', *extra, domcapabilities=None,
                    sysfs=None, nova_conf=None):
        argv = ['check-host', '-f', 'value',
                '--domcapabilities',
                domcapabilities or _input(host, 'domcapabilities.xml'),
                '--sysfs-root', sysfs or _input(host, 'sys'),
                '--nova-conf', nova_conf or _input(host, 'nova.conf')]
        status, out, err = self.run_command(*(argv + list(extra)))
        results = {}
        for line in out.splitlines():
            for name in ('SEV in libvirt', 'kvm_amd parameters',
                         'RAM allocation ratio', 'Default machine type',
                         'Memory for SEV guests', 'Removed options'):
                if line.startswith(name + ' '):
                    results[name] = line[len(name) + 1:]
        self.assertEqual(6, len(results), out + err)
        return status, results

    def _assert(self, results, check, code, *words):
        self.assertTrue(results[check].startswith(code), results[check])
        for word in words:
            self.assertIn(word, results[check])

    def test_ready_host_succeeds(self):
        status, results = self._check_host('ready')
        self.assertEqual(0, status)
        for result in results.values():
            self.assertTrue(result.startswith('Success'), result)
        self._assert(results, 'SEV in libvirt', 'Success', 'maxGuests 494',
                     'maxESGuests 15')
        self._assert(results, 'Memory for SEV guests', 'Success',
                     '509 encrypted guests')

    def test_no_sev_fails(self):
        status, results = self._check_host('no-sev')
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'libvirt reports no SEV support')

    def test_sev_off_in_kernel_fails(self):
        status, results = self._check_host('sev-off-in-kernel')
        self.assertEqual(2, status)
        self._assert(results, 'kvm_amd parameters', 'Failure',
                     'kvm_amd reports sev=N', 'kvm_amd.sev=1')

    def test_kvm_amd_not_loaded_fails(self):
        status, results = self._check_host(
            sysfs=self.useFixture(fixtures.TempDir()).path)
        self.assertEqual(2, status)
        self._assert(results, 'kvm_amd parameters', 'Failure', 'sev=absent')

    def test_overcommitted_fails(self):
        status, results = self._check_host('overcommitted')
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure',
                     'ram_allocation_ratio is 1.5')

    def test_initial_ratio_overcommitted_fails(self):
        conf = self.write_file('nova.conf', '[DEFAULT]\n'
                               'initial_ram_allocation_ratio = 2.0\n')
        status, results = self._check_host(nova_conf=conf)
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure',
                     'initial_ram_allocation_ratio is 2.0')

    def test_no_q35_default_warns(self):
        status, results = self._check_host('no-q35')
        self.assertEqual(1, status)
        self._assert(results, 'Default machine type', 'Warning',
                     'default to pc', 'x86_64=q35')

    def test_removed_option_warns(self):
        status, results = self._check_host('removed-option')
        self.assertEqual(1, status)
        self._assert(results, 'Removed options', 'Warning',
                     'num_memory_encrypted_guests')

    def test_later_nova_conf_wins(self):
        status, results = self._check_host(
            'ready', '--nova-conf', _input('overcommitted', 'nova.conf'))
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure', '1.5')

    def test_small_reservation_warns(self):
        conf = self.write_file('nova.conf', '[DEFAULT]\n'
                               'reserved_host_memory_mb = 4096\n'
                               '[libvirt]\nhw_machine_type = x86_64=q35\n')
        status, results = self._check_host(nova_conf=conf)
        self.assertEqual(1, status)
        self._assert(results, 'Memory for SEV guests', 'Warning',
                     '509 encrypted guests need about 130304 MB')

    def test_machine_slice_limit_succeeds(self):
        sysfs = self.useFixture(fixtures.TempDir()).path
        for parameter, value in (('sev', 'Y'), ('sev_es', '1'),
                                 ('sev_snp', '0')):
            self.write_into(sysfs, 'module/kvm_amd/parameters/' + parameter,
                            value)
        self.write_into(sysfs, 'fs/cgroup/machine.slice/memory.max',
                        str(64 * 2 ** 30))
        conf = self.write_file('nova.conf', '[libvirt]\n'
                               'hw_machine_type = x86_64=q35\n')
        status, results = self._check_host(sysfs=sysfs, nova_conf=conf)
        self.assertEqual(0, status)
        self._assert(results, 'Memory for SEV guests', 'Success',
                     'machine.slice is limited to 65536 MiB')

    def test_sev_es_off_in_kernel_warns(self):
        sysfs = self.useFixture(fixtures.TempDir()).path
        for parameter, value in (('sev', 'Y'), ('sev_es', 'N')):
            self.write_into(sysfs, 'module/kvm_amd/parameters/' + parameter,
                            value)
        status, results = self._check_host(sysfs=sysfs)
        self.assertEqual(1, status)
        self._assert(results, 'kvm_amd parameters', 'Warning',
                     '15 SEV-ES slots but kvm_amd sev_es is off')

    def test_snp_host_succeeds(self):
        status, results = self._check_host('snp-host')
        self.assertEqual(0, status)
        self._assert(results, 'SEV in libvirt', 'Success', 'SEV-SNP offered')
        self._assert(results, 'kvm_amd parameters', 'Success',
                     'Nova offers the ES slots to SEV-SNP guests')

    def test_malformed_xml_fails(self):
        status, results = self._check_host('malformed-xml')
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'not valid XML')
        self._assert(results, 'Memory for SEV guests', 'Warning',
                     'cannot count the SEV slots')

    def test_not_domain_capabilities_fails(self):
        xml = self.write_file('caps.xml', '<capabilities/>')
        status, results = self._check_host(domcapabilities=xml)
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'not libvirt domain capabilities')

    def test_domcapabilities_from_stdin(self):
        with open(_input('ready', 'domcapabilities.xml')) as xml:
            self.useFixture(fixtures.MonkeyPatch('sys.stdin',
                                                 io.StringIO(xml.read())))
        status, results = self._check_host(domcapabilities='-')
        self.assertEqual(0, status)

    def test_without_virsh_fails(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'PATH', self.useFixture(fixtures.TempDir()).path))
        status, out, err = self.run_command(
            'check-host', '-f', 'value', '-c', 'Details',
            '--sysfs-root', _input('ready', 'sys'),
            '--nova-conf', _input('ready', 'nova.conf'))
        self.assertEqual(2, status)
        self.assertIn('cannot read domain capabilities from "virsh '
                      'domcapabilities"', out)

    def test_missing_inputs_fail(self):
        status, results = self._check_host(
            domcapabilities='/nonexistent.xml', nova_conf='/nonexistent.conf')
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'No such file or directory')
        self._assert(results, 'RAM allocation ratio', 'Failure',
                     'cannot read nova.conf')

    def test_broken_nova_conf_fails(self):
        for text, words in (('[DEFAULT\nfoo = 1\n', 'cannot read nova.conf'),
                            ('[DEFAULT]\nram_allocation_ratio = lots\n',
                             'cannot read nova.conf')):
            status, results = self._check_host(
                nova_conf=self.write_file('nova.conf', text))
            self.assertEqual(2, status)
            self._assert(results, 'RAM allocation ratio', 'Failure', words)

    def test_broken_kernel_parameter_fails(self):
        sysfs = self.useFixture(fixtures.TempDir()).path
        self.write_into(sysfs, 'module/kvm_amd/parameters/sev', 'maybe')
        status, results = self._check_host(sysfs=sysfs)
        self.assertEqual(2, status)
        self._assert(results, 'kvm_amd parameters', 'Failure',
                     "holds 'maybe', not Y, N, 1 or 0")

    def write_into(self, root, relative, text):
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as file:
            file.write(text)
