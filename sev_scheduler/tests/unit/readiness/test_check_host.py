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
import shutil

import fixtures
import testtools

from sev_scheduler import compat
from sev_scheduler.tests.unit.cmd import base
from sev_scheduler.tests.unit.readiness import fakehost
from sev_scheduler.tests.unit import releases

HOSTS = os.path.join(os.path.dirname(__file__), 'hosts')
CHECKS = ('SEV in libvirt', 'kvm_amd parameters', 'Encryption slots',
          'RAM allocation ratio', 'Default machine type',
          'Memory for SEV guests', 'Removed options')
NOVA = releases.NOVA
SLOT_OPTION = '[libvirt] num_memory_encrypted_guests'

# Why a test cannot apply to the running Nova, read from compat.
_OPTION_NOT_DEPRECATED = '%s has not deprecated %s' % (NOVA, SLOT_OPTION)
_OPTION_DEPRECATED = '%s deprecates %s' % (NOVA, SLOT_OPTION)
_ES_PLACED = compat.AMD_SEV_ES in compat.AMD_MODELS
_SNP_PLACED = compat.AMD_SEV_SNP in compat.AMD_MODELS
_ES_HAS_SLOTS = '%s gives SEV-ES guests slots of their own' % NOVA
_SNP_HAS_SLOTS = '%s places SEV-SNP guests' % NOVA
# The ready host's domain capabilities with a byte that is not UTF-8.
_BAD_BYTE_XML = fakehost.domain_capabilities().encode().replace(
    b'<domain>kvm', b'<domain>kvm\xff')


def _deprecated():
    return bool(compat.LIBVIRT_SLOT_OPT and
                compat.LIBVIRT_SLOT_OPT.deprecated_for_removal)


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
            for name in CHECKS:
                if line.startswith(name + ' '):
                    results[name] = line[len(name) + 1:]
        self.assertEqual(len(CHECKS), len(results), out + err)
        return status, results

    def _host(self, *extra, kernel=('Y', 'Y', 'N'), option=None, **caps):
        """check-host on a made-up host: caps as fakehost makes them."""
        domcapabilities = self.write_file(
            'caps.xml', fakehost.domain_capabilities(**caps))
        sysfs = fakehost.kvm_amd(
            self.useFixture(fixtures.TempDir()).path, *kernel)
        text = ('[DEFAULT]\nreserved_host_memory_mb = 262144\n'
                '[libvirt]\nhw_machine_type = x86_64=q35\n')
        if option is not None:
            text += 'num_memory_encrypted_guests = %d\n' % option
        return self._check_host(
            *extra, domcapabilities=domcapabilities, sysfs=sysfs,
            nova_conf=self.write_file('nova.conf', text))

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
        self._assert(results, 'Encryption slots', 'Success',
                     NOVA + ' reports amd-sev 494')
        if compat.CAPS_SLOTS_BY_OPTION:
            self.assertIn("SEV slots from libvirt's maxGuests (%s unset)"
                          % SLOT_OPTION, results['Encryption slots'])

    def test_no_sev_fails(self):
        status, results = self._check_host('no-sev')
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'libvirt reports no SEV support')
        self._assert(results, 'Encryption slots', 'Failure', 'amd-sev 0',
                     'the host does not support AMD SEV')

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

    @releases.removed_slot_option
    def test_removed_slot_option_warns(self):
        # The seed document's [libvirt] num_memory_encrypted_guests = 15.
        status, results = self._check_host('slot-option')
        self.assertEqual(1, status)
        self._assert(results, 'Removed options', 'Warning', SLOT_OPTION,
                     NOVA + ' no longer reads it', 'max_guests_per_host')
        self._assert(results, 'Encryption slots', 'Success',
                     'amd-sev 494', 'amd-sev-es 15')

    @releases.requires_slot_option
    def test_slot_option_below_max_guests_wins(self):
        status, results = self._check_host('slot-option')
        self._assert(results, 'Encryption slots',
                     'Warning' if _deprecated() else 'Success',
                     NOVA + ' reports amd-sev 15',
                     "%s = 15 wins over libvirt's maxGuests 494" % SLOT_OPTION)
        self._assert(results, 'Removed options', 'Success')
        self._assert(results, 'Memory for SEV guests', 'Success',
                     'enough for %d encrypted guests'
                     % (15 + (15 if _ES_PLACED else 0)))

    @releases.requires_slot_option
    @testtools.skipIf(_deprecated(), _OPTION_DEPRECATED)
    def test_slot_option_before_deprecation_succeeds(self):
        status, results = self._check_host('slot-option')
        self.assertEqual(0, status)
        self.assertNotIn('deprecated', results['Encryption slots'])

    @releases.requires_slot_option
    @testtools.skipUnless(_deprecated(), _OPTION_NOT_DEPRECATED)
    def test_deprecated_slot_option_warns(self):
        status, results = self._check_host('slot-option')
        self.assertEqual(1, status)
        self._assert(results, 'Encryption slots', 'Warning',
                     '%s is deprecated since 32.0.0' % SLOT_OPTION,
                     "gone in OpenStack 2026.2 (Nova 34), where Nova offers "
                     "all of libvirt's maxGuests (494)",
                     'max_guests_per_host')

    @releases.requires_slot_option
    def test_slot_option_above_max_guests_warns(self):
        status, results = self._host(option=600)
        self.assertEqual(1, status)
        self._assert(results, 'Encryption slots', 'Warning',
                     NOVA + ' reports amd-sev 494',
                     "%s = 600 exceeds libvirt's maxGuests 494: maxGuests "
                     "wins and Nova logs a warning; lower the option to 494"
                     % SLOT_OPTION)

    @releases.requires_slot_option
    def test_slot_option_equal_to_max_guests_succeeds(self):
        status, results = self._host(option=494)
        self.assertIn('%s = 494 equals libvirt\'s maxGuests 494'
                      % SLOT_OPTION, results['Encryption slots'])

    @releases.requires_slot_option
    def test_slot_option_on_host_without_sev_fails(self):
        status, results = self._host(option=15, supported=False)
        self.assertEqual(2, status)
        self._assert(results, 'Encryption slots', 'Failure', 'amd-sev 0',
                     'does not support AMD SEV',
                     '%s = 15 is ignored and Nova logs a warning'
                     % SLOT_OPTION)

    @releases.requires_slot_option
    def test_slot_option_zero_fails(self):
        status, results = self._host(option=0, max_es_guests=0)
        self.assertEqual(2, status)
        self._assert(results, 'Encryption slots', 'Failure', 'amd-sev 0',
                     "%s = 0 wins over libvirt's maxGuests 494" % SLOT_OPTION,
                     'SEVFilter gives this host no encrypted guest')

    @releases.requires_slot_option
    def test_no_max_guests_nor_option_warns(self):
        status, results = self._host(max_guests=None, max_es_guests=None)
        self.assertEqual(1, status)
        self._assert(results, 'Encryption slots', 'Warning',
                     'amd-sev unlimited', 'libvirt reports no maxGuests and '
                     '%s is unset' % SLOT_OPTION, 'more than the host can run')
        self._assert(results, 'Memory for SEV guests', 'Warning',
                     'Nova counts unlimited SEV slots')

    @releases.requires_slot_option
    def test_no_max_guests_option_caps(self):
        status, results = self._host(option=15, max_guests=None,
                                     max_es_guests=None)
        self._assert(results, 'Encryption slots',
                     'Warning' if _deprecated() else 'Success',
                     'amd-sev 15', '%s = 15 caps the SEV slots' % SLOT_OPTION,
                     'libvirt reports no maxGuests')

    @releases.removed_slot_option
    def test_no_max_guests_fails(self):
        status, results = self._host(max_guests=None, max_es_guests=None)
        self.assertEqual(2, status)
        self._assert(results, 'Encryption slots', 'Failure',
                     'amd-sev uncountable', 'libvirt reports no maxGuests and '
                     'no maxESGuests: %s cannot count the slots' % NOVA)

    @releases.requires_model(compat.AMD_SEV_ES)
    def test_sev_es_slots_counted(self):
        status, results = self._host()
        self.assertEqual(0, status)
        self._assert(results, 'Encryption slots', 'Success',
                     'amd-sev 494, amd-sev-es 15')
        self._assert(results, 'Memory for SEV guests', 'Success',
                     'enough for 509 encrypted guests')

    @testtools.skipIf(_ES_PLACED, _ES_HAS_SLOTS)
    def test_sev_es_slots_unused_before_nova_32(self):
        status, results = self._host(kernel=('Y', 'N', 'N'))
        self.assertEqual(0, status)
        self._assert(results, 'Encryption slots', 'Success',
                     NOVA + ' reports amd-sev 494;',
                     'maxESGuests 15 unused: %s places no SEV-ES guest '
                     'before OpenStack 2025.2 (Nova 32)' % NOVA)
        self._assert(results, 'kvm_amd parameters', 'Success')
        self._assert(results, 'Memory for SEV guests', 'Success',
                     'enough for 494 encrypted guests')

    @testtools.skipIf(_SNP_PLACED, _SNP_HAS_SLOTS)
    def test_snp_offered_unused_before_nova_34(self):
        status, results = self._host(kernel=('Y', 'Y', 'Y'),
                                     sectypes=('sev', 'sev-snp'))
        self.assertEqual(0, status)
        self._assert(results, 'SEV in libvirt', 'Success',
                     'SEV-SNP offered in launchSecurity, unused: %s places '
                     'no SEV-SNP guest before OpenStack 2026.2 (Nova 34)'
                     % NOVA)
        # SEV-SNP on in the kernel takes nothing from SEV-ES here.
        self.assertNotIn('amd-sev-snp', results['Encryption slots'])
        if _ES_PLACED:
            self.assertIn('amd-sev-es 15', results['Encryption slots'])

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_on_without_libvirt_snp_warns(self):
        status, results = self._host(kernel=('Y', 'Y', 'Y'))
        self.assertEqual(1, status)
        self._assert(results, 'kvm_amd parameters', 'Warning',
                     'kvm_amd sev_snp is on but libvirt does not offer '
                     'SEV-SNP', 'neither SEV-SNP nor SEV-ES slots')
        self._assert(results, 'Encryption slots', 'Success',
                     'amd-sev 494, amd-sev-es 0, amd-sev-snp 0')

    def test_later_nova_conf_wins(self):
        status, results = self._check_host(
            'ready', '--nova-conf', _input('overcommitted', 'nova.conf'))
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure', '1.5')

    def test_small_reservation_warns(self):
        domcapabilities = self.write_file(
            'caps.xml', fakehost.domain_capabilities(max_es_guests=0))
        conf = self.write_file('nova.conf', '[DEFAULT]\n'
                               'reserved_host_memory_mb = 4096\n'
                               '[libvirt]\nhw_machine_type = x86_64=q35\n')
        status, results = self._check_host(domcapabilities=domcapabilities,
                                           nova_conf=conf)
        self.assertEqual(1, status)
        self._assert(results, 'Memory for SEV guests', 'Warning',
                     '494 encrypted guests need about 126464 MB')

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

    @releases.requires_model(compat.AMD_SEV_ES)
    def test_sev_es_off_in_kernel_warns(self):
        sysfs = self.useFixture(fixtures.TempDir()).path
        for parameter, value in (('sev', 'Y'), ('sev_es', 'N')):
            self.write_into(sysfs, 'module/kvm_amd/parameters/' + parameter,
                            value)
        status, results = self._check_host(sysfs=sysfs)
        self.assertEqual(1, status)
        self._assert(results, 'kvm_amd parameters', 'Warning',
                     '15 SEV-ES slots but kvm_amd sev_es is off')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_host_succeeds(self):
        status, results = self._check_host('snp-host')
        self.assertEqual(0, status)
        self._assert(results, 'SEV in libvirt', 'Success', 'SEV-SNP offered')
        self._assert(results, 'kvm_amd parameters', 'Success',
                     'Nova offers the ES slots to SEV-SNP guests')
        self._assert(results, 'Encryption slots', 'Success',
                     'amd-sev 494, amd-sev-es 0, amd-sev-snp 15')

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

    def _stdin(self, data):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stdin', io.TextIOWrapper(io.BytesIO(data))))

    def test_domcapabilities_from_stdin(self):
        with open(_input('ready', 'domcapabilities.xml'), 'rb') as xml:
            self._stdin(xml.read())
        status, results = self._check_host(domcapabilities='-')
        self.assertEqual(0, status)

    def _assert_bad_byte_in_xml(self, status, results):
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure', 'not valid XML',
                     'line 3')
        # Every other check still runs on what could be read.
        self._assert(results, 'RAM allocation ratio', 'Success')

    def test_domcapabilities_bad_byte_fails(self):
        xml = self.write_bytes('caps.xml', _BAD_BYTE_XML)
        self._assert_bad_byte_in_xml(*self._check_host(domcapabilities=xml))

    def test_domcapabilities_bad_byte_from_stdin_fails(self):
        self._stdin(_BAD_BYTE_XML)
        self._assert_bad_byte_in_xml(*self._check_host(domcapabilities='-'))

    def test_domcapabilities_bad_byte_from_virsh_fails(self):
        self._fake_virsh(_BAD_BYTE_XML)
        status, out, err = self.run_command(
            'check-host', '-f', 'value', '-c', 'Check', '-c', 'Result',
            '-c', 'Details', '--sysfs-root', _input('ready', 'sys'),
            '--nova-conf', _input('ready', 'nova.conf'))
        self.assertEqual(2, status, out + err)
        self.assertIn('SEV in libvirt Failure the domain capabilities are '
                      'not valid XML', out)
        self.assertIn('RAM allocation ratio Success', out)

    def test_domcapabilities_from_virsh_succeeds(self):
        with open(_input('ready', 'domcapabilities.xml'), 'rb') as xml:
            self._fake_virsh(xml.read())
        status, out, err = self.run_command(
            'check-host', '-f', 'value',
            '--sysfs-root', _input('ready', 'sys'),
            '--nova-conf', _input('ready', 'nova.conf'))
        self.assertEqual(0, status, out + err)

    def test_domcapabilities_declared_encoding_succeeds(self):
        # 0xff is a letter in Latin-1: the declaration makes it valid.
        xml = self.write_bytes('caps.xml', b'<?xml version="1.0" encoding="'
                               b'ISO-8859-1"?>\n<!-- \xff -->\n' +
                               fakehost.domain_capabilities().encode())
        status, results = self._check_host(domcapabilities=xml)
        self.assertEqual(0, status)
        self._assert(results, 'SEV in libvirt', 'Success', 'maxGuests 494')

    def _fake_virsh(self, output):
        """A virsh on PATH whose domcapabilities prints output."""
        bindir = self.useFixture(fixtures.TempDir()).path
        self.write_bytes('domcapabilities.xml', output, bindir)
        script = os.path.join(bindir, 'virsh')
        with open(script, 'w') as file:
            file.write('#!/bin/sh\nexec %s "%s"\n' % (
                shutil.which('cat'),
                os.path.join(bindir, 'domcapabilities.xml')))
        os.chmod(script, 0o755)
        self.useFixture(fixtures.EnvironmentVariable('PATH', bindir))

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

    def test_nan_ram_allocation_ratio_fails(self):
        conf = self.write_file('nova.conf', '[DEFAULT]\n'
                               'ram_allocation_ratio = nan\n')
        status, results = self._check_host(nova_conf=conf)
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure',
                     'ram_allocation_ratio is nan', 'not known to be safe')

    def test_nan_initial_ram_allocation_ratio_fails(self):
        conf = self.write_file('nova.conf', '[DEFAULT]\n'
                               'initial_ram_allocation_ratio = nan\n')
        status, results = self._check_host(nova_conf=conf)
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure',
                     'initial_ram_allocation_ratio is nan')

    def test_negative_max_guests_fails(self):
        status, results = self._host(max_guests=-1)
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'maxGuests is -1, not a number of guests')

    def test_negative_max_es_guests_fails(self):
        status, results = self._host(max_es_guests=-15)
        self.assertEqual(2, status)
        self._assert(results, 'SEV in libvirt', 'Failure',
                     'maxESGuests is -15, not a number of guests')

    def test_negative_misc_capacity_warns(self):
        sysfs = fakehost.kvm_amd(self.useFixture(fixtures.TempDir()).path)
        path = self.write_into(sysfs, 'fs/cgroup/misc.capacity',
                               'sev -1\nsev_es 15\n')
        status, results = self._check_host(sysfs=sysfs)
        self.assertEqual(1, status)
        self._assert(results, 'kvm_amd parameters', 'Warning',
                     '%s is not "<resource> <count>" lines' % path)

    def test_negative_machine_slice_memory_max_warns(self):
        sysfs = fakehost.kvm_amd(self.useFixture(fixtures.TempDir()).path)
        self.write_into(sysfs, 'fs/cgroup/machine.slice/memory.max', '-1')
        conf = self.write_file('nova.conf', '[libvirt]\n'
                               'hw_machine_type = x86_64=q35\n')
        status, results = self._check_host(sysfs=sysfs, nova_conf=conf)
        self.assertEqual(1, status)
        self._assert(results, 'Memory for SEV guests', 'Warning',
                     "holds '-1', not a number of bytes")

    def test_broken_kernel_parameter_bad_byte_fails(self):
        sysfs = fakehost.kvm_amd(self.useFixture(fixtures.TempDir()).path)
        path = self.write_into(sysfs, 'module/kvm_amd/parameters/sev_es',
                               b'Y\xff\n')
        status, results = self._check_host(sysfs=sysfs)
        self.assertEqual(2, status)
        self._assert(results, 'kvm_amd parameters', 'Failure',
                     '%s is not text: byte 0xff at offset 1' % path)
        self._assert(results, 'SEV in libvirt', 'Success')

    def test_misc_capacity_bad_byte_warns(self):
        sysfs = fakehost.kvm_amd(self.useFixture(fixtures.TempDir()).path)
        path = self.write_into(sysfs, 'fs/cgroup/misc.capacity',
                               b'sev 494\nsev_es \xfe15\n')
        status, results = self._check_host(sysfs=sysfs)
        self.assertEqual(1, status)
        self._assert(results, 'kvm_amd parameters', 'Warning',
                     '%s is not text: byte 0xfe at offset 15' % path)

    def test_machine_slice_memory_max_bad_byte_warns(self):
        sysfs = fakehost.kvm_amd(self.useFixture(fixtures.TempDir()).path)
        path = self.write_into(sysfs, 'fs/cgroup/machine.slice/memory.max',
                               b'\x80')
        conf = self.write_file('nova.conf', '[libvirt]\n'
                               'hw_machine_type = x86_64=q35\n')
        status, results = self._check_host(sysfs=sysfs, nova_conf=conf)
        self.assertEqual(1, status)
        self._assert(results, 'Memory for SEV guests', 'Warning',
                     '%s is not text: byte 0x80 at offset 0' % path)

    def test_nova_conf_bad_byte_fails(self):
        ready = _input('ready', 'nova.conf')
        conf = self.write_bytes('nova.conf', b'[DEFAULT]\n# caf\xe9\n')
        status, results = self._check_host('ready', '--nova-conf', conf,
                                           nova_conf=ready)
        self.assertEqual(2, status)
        self._assert(results, 'RAM allocation ratio', 'Failure',
                     'cannot read nova.conf: %s is not text: byte 0xe9 at '
                     'offset 15' % conf)
        self.assertNotIn(ready, results['RAM allocation ratio'])
        self._assert(results, 'SEV in libvirt', 'Success')

    def write_into(self, root, relative, data):
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb' if isinstance(data, bytes) else 'w') as file:
            file.write(data)
        return path

    def write_bytes(self, name, data, directory=None):
        directory = directory or self.useFixture(fixtures.TempDir()).path
        return self.write_into(directory, name, data)
