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

"""Fuzzing SEVFilter and SEVWeigher with generated requests and hosts.

Flavor extra specs, image properties (as written, so malformed switches
Nova reads as False among them), PCI requests, Cyborg request groups,
custom resource classes, block device mappings and host states (RAM
ratios and usable memory, NaN, infinite, negative or None among them,
candidates of both provider layouts, missing or odd fields, aggregates
with odd metadata) and what Placement says of each host (slot capacity
and usage, MEMORY_MB capacity, as odd), with the plugin's options varied.
Properties:

- nothing but NoValidHost leaves the filter, nothing at all the weigher,
  and no weight is NaN or infinite;
- an encrypted request never passes a host without a slot, nor a host at
  its strictest cap (a cap of 0 in one aggregate lifting none) or whose
  slot usage is not a count, nor, for a model that locks memory (unless
  overcommit is allowed), a host whose RAM ratio is not known to be at
  most 1.0 or whose MEMORY_MB capacity in Placement is not known to be
  at most its usable memory;
- a request without encryption never loses a host unless isolation is on;
- an encrypted request with a Cyborg device or a custom resource class
  not declared safe is refused.

SEV_FUZZ_EXAMPLES sets the number of cases (default 10,000; ``tox -e
fuzz`` runs 100,000). The count is written to the test output.
"""

import logging
import math
import os
import sys

import fixtures
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from oslo_utils.fixture import uuidsentinel as uuids

from nova.accelerator import cyborg
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields
from nova.scheduler import weights
from nova import test

from sev_scheduler import capacity
from sev_scheduler import filters
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement
from sev_scheduler.tests.unit import test_properties
from sev_scheduler import weighers

EXAMPLES = int(os.environ.get('SEV_FUZZ_EXAMPLES', 10000))
SLOT = 'MEM_ENCRYPTION_CONTEXT'

odd_text = st.text(max_size=6)
pci_requests = st.lists(st.one_of(
    st.builds(lambda alias: objects.InstancePCIRequest(
        count=1, spec=[{}], alias_name=alias), odd_text),
    st.builds(lambda port: objects.InstancePCIRequest(
        count=1, spec=[{}], alias_name=None, requester_id=port),
        st.one_of(st.none(), odd_text))), max_size=2)
bdms = st.lists(st.builds(
    lambda bus, boot: factories.volume_bdm(
        nova_context.get_admin_context(), uuids.instance, bus, boot),
    st.one_of(st.none(), st.sampled_from(list(fields.DiskBus.ALL)), odd_text),
    st.one_of(st.none(), st.integers(min_value=-1, max_value=2))),
    max_size=3)
#: A valid AMD SEV request, which the generated ones seldom are.
PLAIN_SEV = (factories.SEV_FLAVOR, factories.UEFI)
#: Request groups as Nova puts them in RequestSpec.requested_resources:
#: a device profile's for the flavor or a port (devices), a QoS port's.
request_groups = st.lists(st.sampled_from([
    (True, cyborg.get_device_profile_group_requester_id(0, None), 'FPGA'),
    (True, cyborg.get_device_profile_group_requester_id(0, uuids.port),
     'CUSTOM_ACCELERATOR'),
    (False, uuids.port, 'NET_BW_EGR_KILOBIT_PER_SEC')]), max_size=2)
#: Custom classes in the flavor; CUSTOM_LICENSE is sometimes declared safe.
custom_classes = st.dictionaries(
    st.sampled_from(['resources:CUSTOM_NVIDIA_11', 'resources1:CUSTOM_LICENSE',
                     'resources:CUSTOM_LICENSE']),
    st.sampled_from(['0', '1', 'x']), max_size=2)
#: Image buses, and non-boot volumes: disks, cdroms and floppies.
bus_properties = st.fixed_dictionaries({}, optional=dict(
    hw_disk_bus=st.sampled_from(list(fields.DiskBus.ALL)),
    hw_cdrom_bus=st.sampled_from(list(fields.DiskBus.ALL)),
    hw_floppy_bus=st.sampled_from(list(fields.DiskBus.ALL)),
    hw_scsi_model=st.sampled_from(['virtio-scsi', 'lsilogic'])))


def _volume(bus, device_type):
    bdm = factories.volume_bdm(nova_context.get_admin_context(),
                               uuids.instance, bus, None)
    bdm.device_type = device_type
    return bdm


bus_devices = st.lists(st.builds(
    _volume, st.one_of(st.none(), st.sampled_from(list(fields.DiskBus.ALL))),
    st.sampled_from(['disk', 'cdrom', 'floppy'])), max_size=2)
#: The buses KVM has; a mapping naming another falls back to the image's.
KVM_BUSES = ('virtio', 'scsi', 'ide', 'usb', 'fdc', 'sata')
ratios = st.one_of(st.none(), st.sampled_from([0.5, 1.0, 1.5, 16.0]),
                   st.floats(allow_nan=True, allow_infinity=True))
#: What no count is, from Placement or the host.
NOT_COUNTS = [None, -1, 2.5, float('nan'), float('inf'), float('-inf')]
slot_totals = st.one_of(st.just(5), st.sampled_from(NOT_COUNTS))
slot_usages = st.one_of(st.integers(min_value=0, max_value=5),
                        st.sampled_from(NOT_COUNTS))
#: A host's usable memory (MB) and Placement's MEMORY_MB capacity: equal,
#: overcommitted by 1.5, or odd.
USABLE_MB = 16384
usable_memory = st.one_of(st.just(USABLE_MB), st.sampled_from(NOT_COUNTS))
memory_capacities = st.one_of(st.sampled_from([USABLE_MB, USABLE_MB * 3 // 2]),
                              st.sampled_from(NOT_COUNTS))


@st.composite
def host_states(draw, index):
    name = 'host%d' % index
    root = getattr(uuids, name)
    kind = draw(st.sampled_from(['root', 'child', 'plain', 'empty', 'odd']))
    candidates = []
    if kind in ('root', 'child'):
        slot = root if kind == 'root' else getattr(uuids, name + '_slot')
        candidates.append(factories.candidate(root, slot))
    if kind == 'plain' or draw(st.booleans()):
        candidates.append(factories.candidate(root))
    if kind == 'odd':
        candidates.append(draw(st.sampled_from([
            {}, {'allocations': None}, {'allocations': {root: {}}},
            {'allocations': {root: {'resources': {SLOT: 0}}}}])))
    host = factories.host(name, root, candidates,
                          ram_allocation_ratio=draw(ratios))
    host.total_usable_ram_mb = draw(usable_memory)
    # Up to two aggregates: a cap of 0 ("no cap") beside a real one.
    host.aggregates = [objects.Aggregate(metadata={
        draw(st.sampled_from(['sev_max_guests', 'sev_weight_multiplier'])):
        draw(st.sampled_from(['0', '1', '3', '-2', 'lots', '2.5']))})
        for _ in range(draw(st.integers(min_value=0, max_value=2)))]
    # What Placement says of it: amd-sev slots, used, MEMORY_MB.
    return host, (draw(slot_totals), draw(slot_usages),
                  draw(memory_capacities))


@st.composite
def clouds(draw):
    """[(host state, (slots, slots used, MEMORY_MB capacity))]."""
    return [draw(host_states(index))
            for index in range(draw(st.integers(min_value=0,
                                                max_value=6)))]


options = st.fixed_dictionaries({
    'isolate_sev_hosts': st.booleans(),
    'max_guests_per_host': st.sampled_from([0, 1, 3]),
    'allow_memory_overcommit': st.booleans(),
    'plain_on_sev_weight_multiplier': st.sampled_from([0.0, -10.0]),
    'safe_resource_classes': st.sampled_from([[], ['CUSTOM_LICENSE']]),
})


def _has_device(groups, classes, safe_classes):
    """Whether the request asks for a Cyborg device or a custom class."""
    return any(device for device, _requester, _class in groups) or any(
        amount != '0' and key.partition(':')[2] not in safe_classes
        for key, amount in classes.items())


def _has_unsafe_bus(properties, mappings):
    """Whether a device is on a bus but virtio, sata, scsi with virtio-scsi.

    The image's disk and cdrom buses (root disk, an ISO's cdrom, config
    drive, volumes attached later), a mapping's bus, a floppy's (the
    image's, else fdc).
    """
    buses = [properties[key] for key in ('hw_disk_bus', 'hw_cdrom_bus')
             if key in properties]
    for bdm in mappings:
        if bdm.disk_bus in KVM_BUSES:
            buses.append(bdm.disk_bus)
        elif bdm.device_type == 'floppy':
            buses.append(properties.get('hw_floppy_bus', 'fdc'))
    virtio_scsi = properties.get('hw_scsi_model') == 'virtio-scsi'
    return any(bus not in ('virtio', 'sata') and
               not (bus == 'scsi' and virtio_scsi) for bus in buses)


def _count(value):
    """Whether a value is a count of slots or MB, known and whole."""
    return isinstance(value, int) and not isinstance(value, bool) and (
        value >= 0)


def _memory_known_safe(host, memory):
    """Whether neither the host's ratio nor Placement may overcommit."""
    ratio = host.ram_allocation_ratio
    usable = host.total_usable_ram_mb
    return (ratio is not None and 0.0 <= ratio <= 1.0 and _count(memory) and
            _count(usable) and memory <= usable)


def _cap(host, option):
    """The lowest positive cap of the host's aggregates, else the option.

    0 for no cap; what is not a whole number is ignored.
    """
    caps = [int(value) for aggregate in host.aggregates
            for key, value in aggregate.metadata.items()
            if key == 'sev_max_guests' and value.isdigit() and int(value)]
    return min(caps) if caps else option


def _has_slot(host):
    return host.allocation_candidates and all(
        any(SLOT in (allocation or {}).get('resources', {})
            for allocation in (candidate.get('allocations') or {}).values())
        for candidate in host.allocation_candidates)


class FuzzTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        # Broken inputs make the plugin log, with tracebacks, on purpose:
        # 100,000 cases of that would not fit in a test result.
        self.useFixture(fixtures.FakeLogger(level=logging.CRITICAL))
        self.placement = fake_placement.use(self)
        self.cases = 0
        # Options are read per request; the checks once, at load.
        self.filter = filters.SEVFilter()
        self.weigher = weighers.SEVWeigher()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.just(PLAIN_SEV), test_properties.requests()),
           pci_requests, request_groups, custom_classes, bdms, clouds(),
           options, bus_properties, bus_devices, st.booleans())
    def test_filter_and_weigher(self, request, pci, groups, classes,
                                mappings, cloud, opts, buses, devices, iso):
        self.cases += 1
        hosts = [host for host, _placement in cloud]
        placed = {host.uuid: placement for host, placement in cloud}
        # A scheduler that has read nothing yet (setUp's fixture puts the
        # process's back), and this cloud's Placement.
        capacity.CACHE = capacity.Cache()
        self.placement.providers = []
        self.placement.memory = {}
        for host, (total, used, memory) in cloud:
            self.placement.add_slots(getattr(uuids, host.host + '_slot'),
                                     host.uuid, 'amd-sev', total, used)
            self.placement.memory[host.uuid] = memory
        for name, value in opts.items():
            self.flags(**{name: value, 'group': 'sev_scheduler'})
        extra_specs, properties = request
        if request is PLAIN_SEV:
            # Nothing but the devices and buses drawn can refuse it.
            pci, mappings = [], devices
        else:
            mappings, iso = mappings + devices, False
        properties = dict(properties, **buses)
        spec_obj = factories.spec(
            dict(extra_specs, **classes), properties, pci_requests=pci,
            requested_resources=[
                objects.RequestGroup(requester_id=requester,
                                     resources={resource_class: 1})
                for _device, requester, resource_class in groups])
        if iso:
            spec_obj.image.disk_format = 'iso'
        # The block device mappings and raw image properties a
        # BuildRequest would hold.
        request = sev_request.for_spec(
            spec_obj,
            block_device_mappings=objects.BlockDeviceMappingList(
                objects=mappings),
            raw_image_properties=dict(properties))
        encryption = sev_request.read_encryption(spec_obj.flavor,
                                                 spec_obj.image)
        # SEVFilter trusts the candidates where Nova's own query asked for
        # the slot: it must have, for every request it trusts them for.
        query = factories.nova_query(spec_obj)
        if request.slot_in_query and query is not None:
            self.assertEqual(
                1, query.get_request_group(None).resources.get(SLOT))
        handed = factories.as_nova_hands_them(spec_obj, hosts)
        try:
            passed = list(self.filter.filter_all(list(handed), spec_obj))
        except exception.NoValidHost:
            # Nova reads a malformed image value as False: refused too.
            self.assertTrue(encryption.requested or
                            test_properties.malformed_image_value(properties))
            return
        self.assertFalse(encryption.requested and _has_device(
            groups, classes, opts['safe_resource_classes']))
        self.assertFalse(encryption.requested and _has_unsafe_bus(
            properties, mappings))
        if encryption.requested:
            # Nova filters no request it cannot turn into a Placement
            # query: the hosts are then as generated, slot or not.
            queried = factories.nova_query(spec_obj) is not None
            locks_memory = (encryption.config.needs_locked_memory and
                            not opts['allow_memory_overcommit'])
            for host in passed:
                self.assertTrue(_has_slot(host) or not queried, host)
                _total, used, memory = placed[host.uuid]
                cap = _cap(host, opts['max_guests_per_host'])
                if cap:
                    self.assertTrue(_count(used) and used < cap, host)
                if locks_memory:
                    self.assertTrue(_memory_known_safe(host, memory), host)
        elif not opts['isolate_sev_hosts']:
            # Another vendor's encryption (intel-tdx) is Nova's query's.
            self.assertEqual(handed, passed)
        weighed = weights.HostWeightHandler().get_weighed_objects(
            [self.weigher], passed, spec_obj)
        self.assertEqual(len(passed), len(weighed))
        for host in weighed:
            self.assertTrue(math.isfinite(host.weight), host)

    def tearDown(self):
        sys.__stderr__.write('%s: %d generated cases\n'
                             % (self.id(), self.cases))
        super().tearDown()
