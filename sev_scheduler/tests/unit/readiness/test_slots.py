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

"""check-host counts slots as the running Nova's libvirt driver does.

Each case is one host: domain capabilities, kvm_amd parameters and
``[libvirt] num_memory_encrypted_guests`` where the running Nova has it.
The same files go to check-host and to Nova's own ``Host`` and
``LibvirtDriver`` code, and both must agree on every model's slots and on
whether Nova logs a warning about the option.
"""

import itertools
import logging
import os
import types

import fixtures
from oslo_config import fixture as config_fixture
import testtools

import nova.conf
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import host as libvirt_host

from sev_scheduler import compat
from sev_scheduler.readiness import checks
from sev_scheduler.readiness import facts
from sev_scheduler.readiness import slots
from sev_scheduler.tests.unit.readiness import fakehost

SWITCHES = ('Y', 'N', None)
OPTIONS = (None, 0, 15, 600) if compat.CAPS_SLOTS_BY_OPTION else (None,)
FAILS = 'Nova fails to count the slots'


class SlotsAsNovaCountsThemTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Nova's Host imports libvirt when made: Nova's stand-in.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.libvirt', fakelibvirt))
        self.conf = self.useFixture(config_fixture.Config(nova.conf.CONF))
        # Nova and oslo.config warn: keep it out of the runner's output.
        self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.nova_log = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.driver', level=logging.WARNING))
        self.root = self.useFixture(fixtures.TempDir()).path
        self.sysfs = os.path.join(self.root, 'sys')
        # Nova's kvm_amd path, under the test's sysfs: a pattern since
        # 2025.2, the 'sev' file alone before.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.SEV_KERNEL_PARAM_FILE',
            libvirt_host.SEV_KERNEL_PARAM_FILE.replace(
                '/sys/', self.sysfs + '/', 1)))

    def _nova(self, caps_path, option):
        """{model: slots} and warnings, from Nova's own driver code."""
        if compat.CAPS_SLOTS_BY_OPTION:
            self.conf.config(group='libvirt',
                             num_memory_encrypted_guests=option)
        caps = facts.libvirt_config.LibvirtConfigDomainCaps()
        with open(caps_path, 'rb') as xml:
            caps.parse_str(xml.read())
        host = libvirt_host.Host('qemu:///system')
        host.get_capabilities = lambda: types.SimpleNamespace(
            host=types.SimpleNamespace(cpu=types.SimpleNamespace(
                arch='x86_64')))
        host.get_domain_capabilities = lambda: {'x86_64': {'q35': caps}}
        host.has_min_version = lambda *args, **kwargs: True
        driver = types.SimpleNamespace(_host=host)
        logged = len(self.nova_log.output)
        if compat.AMD_MODELS == (compat.AMD_SEV,):
            # A Nova that places AMD SEV alone counts a single pool.
            counted = {compat.AMD_SEV: libvirt_driver.LibvirtDriver.
                       _get_memory_encrypted_slots(driver)}
        else:
            try:
                inventories = libvirt_driver.LibvirtDriver.\
                    _get_memory_encryption_inventories(driver)
            except TypeError:
                # Nova 2026.2 with a count libvirt did not give.
                return FAILS, False
            counted = {model: inventories[model.replace('-', '_')]['total']
                       for model in compat.AMD_MODELS}
        warned = compat.LIBVIRT_SLOT_OPTION in self.nova_log.output[logged:]
        return counted, warned

    def _check_host(self, caps_path, option):
        """{model: slots} and whether the slots check says Nova warns."""
        conf = fakehost.write(self.root, 'nova.conf', '[libvirt]\n' + (
            '' if option is None else
            '%s = %d\n' % (compat.LIBVIRT_SLOT_OPTION, option)))
        host_facts = facts.read(caps_path, self.sysfs, [conf])
        counted = slots.count(host_facts.domain_capabilities.value,
                              host_facts.kernel.value,
                              host_facts.nova_conf.value.slot_option)
        result = checks.check_slots(host_facts, None)
        if None in counted.values():
            self.assertEqual(checks.Code.FAILURE, result.code)
            self.assertIn('cannot count the slots', result.details)
            return FAILS, False
        return counted, 'Nova logs a warning' in result.details

    def _do_test(self, cases):
        for supported, max_guests, max_es_guests, sectypes in cases:
            caps_path = fakehost.write(
                self.root, 'caps.xml', fakehost.domain_capabilities(
                    supported, max_guests, max_es_guests, sectypes))
            for sev, sev_es, sev_snp in itertools.product(SWITCHES, repeat=3):
                fakehost.kvm_amd(self.sysfs, sev, sev_es, sev_snp)
                for option in OPTIONS:
                    case = ('supported=%s maxGuests=%s maxESGuests=%s '
                            'launchSecurity=%s kvm_amd=%s/%s/%s option=%s'
                            % (supported, max_guests, max_es_guests,
                               sectypes, sev, sev_es, sev_snp, option))
                    self.assertEqual(self._nova(caps_path, option),
                                     self._check_host(caps_path, option),
                                     case)

    def test_sev_hosts_count_as_nova(self):
        self._do_test(itertools.product(
            (True,), (0, 15, 494), (0, 15), (('sev',), ('sev', 'sev-snp'))))

    def test_libvirt_without_counts_counts_as_nova(self):
        # libvirt before 8.0 reports SEV without maxGuests / maxESGuests.
        self._do_test([(True, None, None, ('sev',)),
                       (True, None, 15, ('sev', 'sev-snp')),
                       (True, 494, None, ())])

    def test_hosts_without_sev_count_as_nova(self):
        self._do_test([(False, None, None, ())])
