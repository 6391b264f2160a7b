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

"""Confidential GPUs for SEV-SNP guests, end to end.

The cloud of ``doc/source/admin/confidential-gpus.rst``: every host has one
passthrough GPU, reported in Placement (``[pci] report_in_placement``);
the ``[pci] device_spec`` of some hosts gives it the trait of a GPU in
confidential-computing mode, ``CUSTOM_NVIDIA_CC_ON``, the others' not. The
scheduler has PCI in Placement on, the alias 'cc-gpu' requiring that trait,
and lists 'cc-gpu' in ``[sev_scheduler] snp_pci_aliases``.

An amd-sev-snp guest asking for 'cc-gpu' lands only on a host with a free
SEV-SNP slot and a free GPU with the trait, holds both in Placement, and
keeps both guarantees when it is resized, cold migrated and evacuated; an
amd-sev guest with the same flavor is refused, with the way out in the
fault. The options need amd-sev-snp, which Nova has since 2026.2.
"""

from oslo_serialization import jsonutils

from nova import context as nova_context
from nova import objects
from nova.tests.functional.api import client

from sev_scheduler import compat
from sev_scheduler.tests.functional import base
from sev_scheduler.tests.functional import test_explain
from sev_scheduler.tests.unit import factories

SNP = compat.AMD_SEV_SNP
SLOT = base.SLOT
ALIAS = 'cc-gpu'
#: The device_spec tag, and the trait Nova makes of it.
CC_TAG = 'nvidia_cc_on'
CC_TRAIT = 'CUSTOM_NVIDIA_CC_ON'
GPU_CLASS = 'CUSTOM_NVIDIA_H100'

#: What an operator asks for a GPU in CC mode (resource class and trait).
CC_GPU_ALIAS = {'name': ALIAS, 'resource_class': GPU_CLASS,
                'traits': CC_TAG}


def device_spec(cc):
    """A host's ``[pci] device_spec``: the fake GPU, in CC mode or not."""
    spec = {'vendor_id': base.fakelibvirt.PCI_VEND_ID,
            'product_id': base.fakelibvirt.PCI_PROD_ID,
            'resource_class': GPU_CLASS}
    if cc:
        spec['traits'] = CC_TAG
    return [jsonutils.dumps(spec)]


@base.needs_model(SNP)
class ConfidentialGPUTestBase(test_explain.ExplainTestBase):
    """SEV-SNP hosts with one GPU each, in CC mode or not."""

    #: As the docs tell operators: it stays on with PCI in Placement.
    NOVA_FILTERS = ['PciPassthroughFilter']

    def setUp(self):
        # The scheduler's options, before the API reads [pci] alias.
        factories.confidential_gpu_options(self.flags, trait=CC_TAG)
        self.flags(alias=[jsonutils.dumps(CC_GPU_ALIAS)], group='pci')
        self.flags(report_in_placement=True, group='pci')
        super().setUp()
        self.create_flavor('snp_gpu', {'hw:mem_encryption': 'true',
                                       'pci_passthrough:alias': ALIAS + ':1'})

    def start_gpu_host(self, hostname, cc, **slots):
        """A host with one GPU, with the CC trait or without.

        :param slots: SEV slots, as ``start_host`` takes them.
        """
        self.flags(device_spec=device_spec(cc), group='pci')
        return self.start_host(
            hostname, pci_info=base.fakelibvirt.HostPCIDevicesInfo(
                num_pci=1, num_pfs=0, num_vfs=0), **slots)

    def start_snp_host(self, hostname, cc):
        return self.start_gpu_host(hostname, cc, slots=2, es_slots=2,
                                   snp=True)

    def boot_snp_gpu(self, expected_state='ACTIVE', **kwargs):
        return self.boot(flavor='snp_gpu', image='sev_snp',
                         expected_state=expected_state, **kwargs)

    def gpu_provider(self, hostname):
        """The provider of a host's GPU, and its traits."""
        root = self.compute_rp_uuids[hostname]
        gpus = [rp['uuid'] for rp in self._get_all_rps_in_a_tree(root)
                if GPU_CLASS in self._get_provider_inventory(rp['uuid'])]
        self.assertEqual(1, len(gpus), 'GPUs of %s' % hostname)
        return gpus[0], self._get_provider_traits(gpus[0])

    def assert_untouched(self, *hostnames):
        """Nothing is used of the hosts' GPU and SEV-SNP slots."""
        for hostname in hostnames:
            provider, _ = self.gpu_provider(hostname)
            self.assertEqual(
                (0, 0), (self._get_provider_usages(provider)[GPU_CLASS],
                         self.slots_used(hostname, SNP) or 0), hostname)

    def assert_holds_cc_gpu(self, server, hostname, *others):
        """The server is on the host and holds its SNP slot and CC GPU.

        Its allocations in Placement: MEM_ENCRYPTION_CONTEXT on the host's
        ``<host>_amd_sev_snp`` provider, the GPU's class on the provider of
        the host's GPU, which has the CC trait; no other slot or device
        than those, and those of the ``others`` hosts. In Nova's database,
        the host's GPU is the server's.
        """
        self.assertEqual(hostname, self.host_of(server))
        expected = {}
        for host in (hostname,) + others:
            expected[self.expected_slot_provider(host, SNP)] = {SLOT: 1}
            provider, traits = self.gpu_provider(host)
            self.assertIn(CC_TRAIT, traits)
            expected[provider] = {GPU_CLASS: 1}
        held = {rp: {rc: amount for rc, amount in
                     allocation['resources'].items()
                     if rc in (SLOT, GPU_CLASS)}
                for rp, allocation in
                self._get_allocations_by_server_uuid(server['id']).items()}
        self.assertEqual(expected, {rp: resources for rp, resources
                                    in held.items() if resources})
        # The compute claimed the GPU Placement gave the server.
        context = nova_context.get_admin_context()
        node = objects.ComputeNode.get_by_nodename(context, hostname)
        self.assertEqual(
            [(server['id'], 'allocated')],
            [(device.instance_uuid, device.status) for device in
             objects.PciDeviceList.get_by_compute_node(context, node.id)])


class BootTestCase(ConfidentialGPUTestBase):
    """A host with a CC GPU, one with a plain GPU, one with no SNP.

    'snp_cc' is the only host with a free SEV-SNP slot beside a GPU with
    the trait: 'snp_plain' has SEV-SNP slots and a GPU without it,
    'sev_cc' a GPU with it and amd-sev slots only.
    """

    def setUp(self):
        super().setUp()
        self.start_snp_host('snp_cc', cc=True)
        self.start_snp_host('snp_plain', cc=False)
        self.start_gpu_host('sev_cc', cc=True, slots=2)

    def test_snp_gpu_cc_device_free_passes(self):
        server = self.boot_snp_gpu()
        self.assert_holds_cc_gpu(server, 'snp_cc')
        self.assert_untouched('snp_plain', 'sev_cc')

    def _fill_cc_gpu(self):
        self.assert_holds_cc_gpu(self.boot_snp_gpu(), 'snp_cc')
        return self.boot_snp_gpu(expected_state='ERROR')

    def test_snp_gpu_no_cc_device_free_fails(self):
        # 'snp_plain' has a free GPU and SEV-SNP slots, 'sev_cc' a free CC
        # GPU: neither has both. Placement offers no host: no filter runs.
        server = self._fill_cc_gpu()
        self.assertEqual('No valid host was found. ', self.fault_of(server))
        self.assert_untouched('snp_plain', 'sev_cc')
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))

    def test_explain_no_cc_device_free_fails(self):
        server = self._fill_cc_gpu()
        conf = self.nova_conf(
            '[filter_scheduler]\npci_in_placement = true\n'
            '[pci]\nalias = %s\n'
            '[sev_scheduler]\nsnp_pci_aliases = %s\n'
            'confidential_device_traits = %s\n'
            % (jsonutils.dumps(CC_GPU_ALIAS), ALIAS, CC_TRAIT))
        shown = self.assert_answer(
            "refused: PCI device '%s' with %s and SEV-SNP: no host has both"
            % (ALIAS, CC_TRAIT), 2, '--nova-conf', conf, server['id'])
        self.assertEqual(
            ["flavor alias '%s': allowed: confidential device" % ALIAS],
            shown['Devices'])
        self.assertEqual('offers 0 of these hosts', shown['Placement'][1])
        # The hosts with SEV-SNP slots ('sev_cc' has none).
        missing = "no free PCI device '%s' with %s" % (ALIAS, CC_TRAIT)
        self.assertEqual(
            {'snp_cc': missing, 'snp_plain': missing},
            {host['host']: host['verdict'] for host in shown['Hosts']})

    def test_sev_gpu_allowed_alias_fails(self):
        # 'sev_cc' and 'snp_cc' have an amd-sev slot beside a CC GPU:
        # Placement offers them, SEVFilter refuses the request.
        server = self.boot(flavor='snp_gpu', image='sev',
                           expected_state='ERROR')
        self.assert_refused(
            server, "Memory encryption (amd-sev) cannot be used with PCI "
            "passthrough: flavor alias '%s' (use amd-sev-snp and an alias "
            "listed in [sev_scheduler] snp_pci_aliases)" % ALIAS)
        self.assert_untouched('snp_cc', 'sev_cc')

    def test_snp_gpu_options_unset_fails(self):
        self.flags(snp_pci_aliases=[], confidential_device_traits=[],
                   group='sev_scheduler')
        server = self.boot_snp_gpu(expected_state='ERROR')
        self.assertEqual(
            "No valid host was found. Memory encryption (amd-sev-snp) cannot "
            "be used with PCI passthrough: flavor alias '%s'" % ALIAS,
            self.fault_of(server))


class MovesTestCase(ConfidentialGPUTestBase):
    """An SNP guest with a CC GPU on 'snp_cc1', and where it may go.

    'snp_cc2' is the one other host with a free SEV-SNP slot beside a CC
    GPU; 'snp_plain' and 'sev_cc' have one of the two only.
    """

    def setUp(self):
        super().setUp()
        self.allow_cold_migration()
        self.flags(allow_resize_to_same_host=False)
        self.start_snp_host('snp_cc1', cc=True)
        self.start_snp_host('snp_cc2', cc=True)
        self.start_snp_host('snp_plain', cc=False)
        self.start_gpu_host('sev_cc', cc=True, slots=2)
        self.server = self.boot_snp_gpu(host='snp_cc1')
        self.assert_holds_cc_gpu(self.server, 'snp_cc1')
        self.create_flavor('snp_gpu_large', {
            'hw:mem_encryption': 'true',
            'pci_passthrough:alias': ALIAS + ':1'})

    def _assert_moved(self, server):
        self.assert_holds_cc_gpu(server, 'snp_cc2')
        self.assert_untouched('snp_cc1', 'snp_plain', 'sev_cc')

    def _fill_snp_cc2(self):
        """Take the CC GPU of 'snp_cc2'; its SEV-SNP slots stay free."""
        self.assert_holds_cc_gpu(self.boot_snp_gpu(host='snp_cc2'),
                                 'snp_cc2')

    def _assert_stayed(self, server):
        """The move was refused: nothing moved, nothing else taken."""
        self.assert_holds_cc_gpu(server, 'snp_cc1')
        self.assert_untouched('snp_plain', 'sev_cc')

    def _refuse(self, action):
        """Post an admin action the scheduler finds no host for."""
        error = self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_server_action,
            self.server['id'], action)
        # A cast in a real cloud; the harness makes it a call, so that the
        # conductor's NoValidHost reaches the API (as in Nova's own tests).
        self.assertEqual(500, error.response.status_code)
        self.assertIn('NoValidHost', str(error))
        self._wait_for_migration_status(self.server, ['error'])

    def _refused_move(self, action):
        self._refuse(action)
        server = self._wait_for_server_parameter(
            self.server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self._assert_stayed(server)

    def test_resize_cc_device_free_passes(self):
        server = self._resize_server(self.server,
                                     self.flavors['snp_gpu_large'])
        self._assert_moved(self._confirm_resize(server))

    def test_resize_no_cc_device_free_fails(self):
        self._fill_snp_cc2()
        self._refused_move(
            {'resize': {'flavorRef': self.flavors['snp_gpu_large']}})

    def test_cold_migration_cc_device_free_passes(self):
        self._assert_moved(self._confirm_resize(self.migrate(self.server)))

    def test_cold_migration_no_cc_device_free_fails(self):
        self._fill_snp_cc2()
        self._refused_move({'migrate': None})

    def _force_down_snp_cc1(self):
        service = self.admin_api.get_services(
            host='snp_cc1', binary='nova-compute')[0]
        self.admin_api.put_service_force_down(service['id'], True)

    def test_evacuate_cc_device_free_passes(self):
        self._force_down_snp_cc1()
        # Since microversion 2.95 an evacuated server arrives stopped.
        server = self._evacuate_server(self.server, expected_host='snp_cc2')
        # Nova keeps what the server held on its source until the source's
        # compute service is back.
        self.assert_holds_cc_gpu(server, 'snp_cc2', 'snp_cc1')
        self.assert_untouched('snp_plain', 'sev_cc')

    def test_evacuate_no_cc_device_free_fails(self):
        self._fill_snp_cc2()
        self._force_down_snp_cc1()
        self._refuse({'evacuate': {}})
        # Nova puts a server it could not evacuate in ERROR, where it was.
        server = self._wait_for_state_change(self.server, 'ERROR')
        self._assert_stayed(server)
