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

"""``sev-scheduler-status upgrade check`` on nova.conf files written here."""

import contextlib
import io
import json
import os

import fixtures
import testtools

from nova import version

from sev_scheduler.cmd import status
from sev_scheduler import compat
from sev_scheduler import conf as sev_conf
from sev_scheduler.tests.unit import releases

CONFIGURED = """
[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
available_filters = sev_scheduler.filters.SEVFilter
enabled_filters = ComputeFilter,ImagePropertiesFilter,SEVFilter
weight_classes = nova.scheduler.weights.all_weighers,%s
""" % status.WEIGHER

SUCCESS, WARNING, FAILURE = (status.SUCCESS, status.WARNING,
                             status.FAILURE)
# What each venv installs.
RELEASE, MODELS = {
    31: ('2025.1', 'amd-sev'),
    32: ('2025.2', 'amd-sev, amd-sev-es'),
    33: ('2026.1', 'amd-sev, amd-sev-es'),
    34: ('2026.2', 'amd-sev, amd-sev-es, amd-sev-snp'),
}[int(version.version_string().split('.')[0])]
CHECKS = ('SEVFilter available', 'SEVFilter enabled', 'SEVWeigher',
          '[sev_scheduler] options', 'Nova release', 'Confidential devices')


class StatusTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def nova_conf(self, text, name='nova.conf'):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as conf_file:
            conf_file.write(text)
        return path

    def run_status(self, *argv):
        """(exit status, stdout, stderr) of sev-scheduler-status ARGV."""
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            code = status.main(list(argv))
        self.assertNotIn('Traceback', stdout.getvalue() + stderr.getvalue())
        return code, stdout.getvalue(), stderr.getvalue()

    def check(self, text):
        """(exit status, {check: (code, details)}) for one nova.conf."""
        code, out, err = self.run_status(
            '--config-file', self.nova_conf(text), 'upgrade', 'check',
            '--json')
        shown = json.loads(out)
        self.assertEqual(list(CHECKS),
                         [check['check'] for check in shown['checks']])
        return code, {check['check']: (check['result'], check['details'])
                      for check in shown['checks']}

    def assert_result(self, text, name, expected_code, *words):
        code, results = self.check(text)
        result_code, details = results[name]
        self.assertEqual(expected_code, result_code, details)
        for word in words:
            self.assertIn(word, details)
        # The exit status is the worst result.
        self.assertEqual(max(result for result, _ in results.values()), code)
        return details


class ConfiguredTestCase(StatusTestCase):

    def test_configured_scheduler_passes(self):
        code, results = self.check(CONFIGURED)
        self.assertEqual(0, code)
        self.assertEqual({
            'SEVFilter available': (SUCCESS, None),
            'SEVFilter enabled': (SUCCESS, None),
            'SEVWeigher': (SUCCESS, 'weight_multiplier 1.0, '
                           'plain_on_sev_weight_multiplier -10.0'),
            '[sev_scheduler] options': (SUCCESS, None),
            'Nova release': (SUCCESS, 'Nova %s is OpenStack %s, supported. '
                             'SEVFilter places %s guests.' % (
                                 version.version_string(), RELEASE, MODELS)),
            'Confidential devices': (SUCCESS, 'Not in use: encrypted guests '
                                     'get no PCI device.'),
        }, results)

    def test_table_names_each_check(self):
        code, out, err = self.run_status(
            '--config-file', self.nova_conf(CONFIGURED), 'upgrade', 'check')
        self.assertEqual(0, code, err)
        self.assertIn('| sev-scheduler Upgrade Check Results', out)
        for name in CHECKS:
            self.assertIn('| Check: %s ' % name, out)
        self.assertEqual(len(CHECKS), out.count('| Result: Success '))

    def test_config_dir_read(self):
        # Options split between a file and a directory, as deployment
        # tools write them.
        conf_d = os.path.join(self.dir, 'nova.conf.d')
        os.mkdir(conf_d)
        with open(os.path.join(conf_d, 'sev.conf'), 'w') as conf_file:
            conf_file.write('[sev_scheduler]\nmax_guest_per_host = 4\n')
        code, out, err = self.run_status(
            '--config-file', self.nova_conf(CONFIGURED),
            '--config-dir', conf_d, 'upgrade', 'check', '--json')
        details = {check['check']: check['details']
                   for check in json.loads(out)['checks']}
        self.assertEqual(WARNING, code, err)
        self.assertIn('max_guest_per_host: no such option',
                      details['[sev_scheduler] options'])
        self.assertIn(os.path.join(conf_d, 'sev.conf'),
                      details['[sev_scheduler] options'])

    def test_missing_config_file_255(self):
        code, out, err = self.run_status(
            '--config-file', os.path.join(self.dir, 'none.conf'), 'upgrade',
            'check')
        self.assertEqual((255, ''), (code, out))
        self.assertIn('none.conf', err)


class ContractTestCase(StatusTestCase):
    """The exit statuses and output every sev-scheduler command keeps."""

    def test_unknown_option_usage_fails(self):
        code, out, err = self.run_status('upgrade', 'check', '--nope')
        self.assertEqual((64, ''), (code, out))
        self.assertIn('--nope', err)

    def test_help_lists_exit_status_passes(self):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            error = self.assertRaises(SystemExit, status.main, ['--help'])
        self.assertEqual(0, error.code)
        self.assertIn('Exit status: 0 success, 1 warning, 2 failure',
                      ' '.join(stdout.getvalue().split()))

    def _unknown_key(self, *argv):
        path = self.nova_conf(CONFIGURED + '[sev_scheduler]\n'
                              '\x1b[2Jcleared = 1\n')
        return self.run_status('--config-file', path, 'upgrade', 'check',
                               *argv)

    def test_table_control_characters_escaped_passes(self):
        code, out, err = self._unknown_key()
        self.assertEqual(WARNING, code, err)
        self.assertNotIn('\x1b', out)
        self.assertIn('\\x1b[2Jcleared', out)

    def test_json_exact_value_passes(self):
        code, out, err = self._unknown_key('--json')
        details = {check['check']: check['details']
                   for check in json.loads(out)['checks']}
        self.assertIn('\x1b[2Jcleared', details['[sev_scheduler] options'])


class NoConfigTestCase(StatusTestCase):

    def setUp(self):
        super().setUp()
        for path in ('/etc/nova/nova.conf', '/etc/nova.conf'):
            if os.path.exists(path):
                self.skipTest('%s exists: Nova reads it' % path)
        self.useFixture(fixtures.EnvironmentVariable('HOME', self.dir))

    def test_no_nova_conf_found_255(self):
        code, out, err = self.run_status('upgrade', 'check')
        self.assertEqual((255, ''), (code, out))
        self.assertIn('no nova.conf found where Nova looks for it', err)

    def test_found_in_home_read(self):
        os.mkdir(os.path.join(self.dir, '.nova'))
        self.nova_conf(CONFIGURED, name='.nova/nova.conf')
        self.assertEqual(0, self.run_status('upgrade', 'check')[0])


class FilterTestCase(StatusTestCase):

    def test_not_available_not_enabled_warns(self):
        details = self.assert_result('', 'SEVFilter available', WARNING,
                                     'available_filters = %s'
                                     % status.FILTER)
        self.assertNotIn('does not start', details)

    def test_enabled_not_available_fails(self):
        self.assert_result(CONFIGURED.replace(
            'available_filters = %s\n' % status.FILTER, ''),
            'SEVFilter available', FAILURE,
            'enabled_filters names it: nova-scheduler does not start',
            'available_filters = %s' % status.FILTER)

    def test_available_by_all_filters_of_own_passes(self):
        # A function returning classes, as nova's all_filters, loads it.
        self.assert_result(CONFIGURED.replace(
            'available_filters = %s\n' % status.FILTER,
            'available_filters = %s.all_sev_filters\n' % __name__),
            'SEVFilter available', SUCCESS)

    def test_entry_that_cannot_load_fails(self):
        self.assert_result(CONFIGURED.replace(
            status.FILTER, 'sev_scheduler.filter.SEVFilter'),
            'SEVFilter available', FAILURE,
            'available_filters: sev_scheduler.filter.SEVFilter cannot be '
            'loaded', 'fix or remove it')

    def test_not_enabled_warns(self):
        self.assert_result(CONFIGURED.replace(',SEVFilter', ''),
                           'SEVFilter enabled', WARNING,
                           'Add SEVFilter to enabled_filters')


def all_sev_filters():
    """Filter classes, as an available_filters function returns them."""
    from sev_scheduler import filters
    return [filters.SEVFilter]


class WeigherTestCase(StatusTestCase):

    def test_missing_warns(self):
        self.assert_result(
            CONFIGURED.replace(',' + status.WEIGHER, ''), 'SEVWeigher',
            WARNING, 'Add %s to weight_classes' % status.WEIGHER)

    def test_cannot_load_fails(self):
        self.assert_result(
            CONFIGURED.replace(status.WEIGHER, 'sev_scheduler.SEVWeigher'),
            'SEVWeigher', FAILURE, 'weight_classes: sev_scheduler.SEVWeigher '
            'cannot be loaded')

    def test_both_multipliers_zero_warns(self):
        self.assert_result(
            CONFIGURED + '[sev_scheduler]\nweight_multiplier = 0\n'
            'plain_on_sev_weight_multiplier = 0\n', 'SEVWeigher', WARNING,
            'both 0: it changes nothing')


class OptionsTestCase(StatusTestCase):

    def test_negative_cap_fails(self):
        self.assert_result(
            CONFIGURED + '[sev_scheduler]\nmax_guests_per_host = -1\n',
            'SEVFilter available', SUCCESS)
        details = self.assert_result(
            CONFIGURED + '[sev_scheduler]\nmax_guests_per_host = -1\n',
            '[sev_scheduler] options', FAILURE,
            'max_guests_per_host: Should be greater than or equal to 0',
            'nova-scheduler does not start')
        self.assertIn(os.path.join(self.dir, 'nova.conf'), details)

    def test_not_a_boolean_fails(self):
        self.assert_result(
            CONFIGURED + '[sev_scheduler]\nisolate_sev_hosts = maybe\n',
            '[sev_scheduler] options', FAILURE, 'isolate_sev_hosts: ')

    def test_unknown_check_fails(self):
        self.assert_result(
            CONFIGURED + '[sev_scheduler]\nchecks = pci_passthrough,gpu\n',
            '[sev_scheduler] options', FAILURE,
            'checks: unknown check(s) gpu; accepted values: accelerators, '
            'boot_disk_bus')

    def test_every_problem_named(self):
        self.assert_result(
            CONFIGURED + '[sev_scheduler]\nchecks = gpu\n'
            'weight_multiplier = heavy\nisolate = true\n',
            '[sev_scheduler] options', FAILURE, 'unknown check(s) gpu',
            "weight_multiplier: could not convert string to float: 'heavy'",
            'isolate: no such option, ignored', 'Fix them in')

    def test_unknown_option_warns(self):
        details = self.assert_result(
            CONFIGURED + '[sev_scheduler]\nmax_guest_per_host = 4\n',
            '[sev_scheduler] options', WARNING,
            'max_guest_per_host: no such option, ignored (options: checks,')
        self.assertNotIn('does not start', details)

    def test_every_check_listed_passes(self):
        self.assert_result(
            CONFIGURED + '[sev_scheduler]\nchecks = %s\n'
            % ','.join(status.sev_conf.ALL_CHECKS),
            '[sev_scheduler] options', SUCCESS)


CC_ALIAS = ('{"name": "cc-gpu", "vendor_id": "10de", "product_id": "2331", '
            '"traits": "nvidia_cc_on"}')
PLAIN_ALIAS = ('{"name": "gpu", "vendor_id": "10de", "product_id": "2331"}')
CONFIDENTIAL = CONFIGURED + """pci_in_placement = true
[pci]
alias = %s
alias = %s
[sev_scheduler]
confidential_device_traits = CUSTOM_NVIDIA_CC_ON
""" % (CC_ALIAS, PLAIN_ALIAS)
CHECK = 'Confidential devices'


class ConfidentialDevicesTestCase(StatusTestCase):

    def test_options_unset_passes(self):
        self.assert_result(CONFIGURED, CHECK, SUCCESS, 'Not in use')

    @releases.lacks_model(compat.AMD_SEV_SNP)
    def test_release_without_snp_warns(self):
        self.assert_result(
            CONFIDENTIAL + 'snp_pci_aliases = cc-gpu\n', CHECK, WARNING,
            'does not place amd-sev-snp guests (OpenStack 2026.2 (Nova 34) '
            'and later do)', 'do nothing')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_alias_requiring_cc_trait_passes(self):
        self.assert_result(
            CONFIDENTIAL + 'snp_pci_aliases = cc-gpu\n', CHECK, SUCCESS,
            'amd-sev-snp guests may use the PCI aliases cc-gpu, each '
            'requiring a trait of CUSTOM_NVIDIA_CC_ON.')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_alias_requiring_no_cc_trait_fails(self):
        self.assert_result(
            CONFIDENTIAL + 'snp_pci_aliases = cc-gpu, gpu\n', CHECK, FAILURE,
            "[sev_scheduler] snp_pci_aliases 'gpu': the [pci] alias requires "
            "no trait of [sev_scheduler] confidential_device_traits "
            "(CUSTOM_NVIDIA_CC_ON): add \"traits\": \"CUSTOM_NVIDIA_CC_ON\" "
            "to it", 'SEVFilter refuses amd-sev-snp requests')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_alias_missing_from_pci_alias_fails(self):
        self.assert_result(
            CONFIDENTIAL + 'snp_pci_aliases = cc-gpu, cc-nic\n', CHECK,
            FAILURE, "snp_pci_aliases 'cc-nic': not in [pci] alias: define "
            "it there, or remove it from snp_pci_aliases")

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_pci_in_placement_off_fails(self):
        self.assert_result(
            CONFIDENTIAL.replace('pci_in_placement = true', '') +
            'snp_pci_aliases = cc-gpu\n', CHECK, FAILURE,
            "snp_pci_aliases 'cc-gpu': [filter_scheduler] pci_in_placement "
            "is off", 'set it to True')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_traits_unset_fails(self):
        self.assert_result(
            CONFIDENTIAL.replace(
                'confidential_device_traits = CUSTOM_NVIDIA_CC_ON', '') +
            'snp_pci_aliases = cc-gpu\n', CHECK, FAILURE,
            'confidential_device_traits is empty')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_traits_without_aliases_warns(self):
        self.assert_result(CONFIDENTIAL, CHECK, WARNING,
                           'snp_pci_aliases is empty')

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_unreadable_pci_alias_fails(self):
        self.assert_result(
            CONFIDENTIAL + 'snp_pci_aliases = cc-gpu\n'
            '[pci]\nalias = {"name": "x", "colour": "green"}\n', CHECK,
            FAILURE, 'Nova cannot read [pci] alias (', 'colour')

    def test_bad_trait_left_to_options_check_passes(self):
        code, results = self.check(
            CONFIDENTIAL.replace('CUSTOM_NVIDIA_CC_ON', 'nvidia_cc_on'))
        self.assertEqual(SUCCESS, results[CHECK][0])
        self.assertEqual(FAILURE, results['[sev_scheduler] options'][0])
        self.assertIn("'nvidia_cc_on' is not a Placement trait",
                      results['[sev_scheduler] options'][1])

    def test_scheduler_options_left_alone_passes(self):
        # The check reads the file's [pci] alias with Nova's parser, in
        # this process: nothing of it stays.
        self.check(CONFIDENTIAL + 'snp_pci_aliases = cc-gpu\n')
        self.assertEqual([], sev_conf.CONF.pci.alias)
        self.assertFalse(sev_conf.CONF.filter_scheduler.pci_in_placement)


class NovaReleaseTestCase(testtools.TestCase):
    """The support matrix, for the versions other venvs install."""

    def test_supported(self):
        for major, release in status.SUPPORTED_NOVA.items():
            result = status.nova_support('%d.1.0' % major)
            self.assertEqual(
                (SUCCESS, 'Nova %d.1.0 is OpenStack %s, supported.'
                 % (major, release)), (result.code, result.details))

    def test_older_fails(self):
        result = status.nova_support('30.2.0')
        self.assertEqual(FAILURE, result.code)
        self.assertIn('older than OpenStack 2025.1 (Nova 31)', result.details)

    def test_newer_warns(self):
        result = status.nova_support('35.0.0.0rc1')
        self.assertEqual(WARNING, result.code)
        self.assertIn('newer than OpenStack 2026.2 (Nova 34)',
                      result.details)

    def test_unreadable_warns(self):
        result = status.nova_support('master')
        self.assertEqual(WARNING, result.code)
        self.assertIn('supported: Nova 31 (2025.1) to 34 (2026.2)',
                      result.details)
