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

"""How fast SEVFilter and SEVWeigher are, next to Nova's own filters.

Builds 1,000, 10,000 and 50,000 hosts as Nova's scheduler holds them: one
allocation candidate each with a memory encryption slot (half on the
compute node's provider, as before Nova 2025.2, half on a child provider),
a PCI device, an up compute service, free RAM. Logging is set up as
nova-scheduler sets it up (``nova.config.parse_args`` and oslo.log's
``setup``), with ``debug`` off, into a file; the levels are checked before
and after timing.

Then, over the same hosts, in the same run, contenders interleaved, it
times per request (best of N). Before each timing it collects garbage and
does untimed what nova-scheduler does with a request before any filter
runs (turn the RequestSpec into its Placement query); a filter's own
reading of the request is timed. One row, "cold", skips that step: the
interpreter then meets Nova's objects and options for the first time since
the collection, which a scheduler's filters never do.

- anchors: Nova's PciPassthroughFilter on a request without PCI devices
  (its usual path) and with one (every host having one), ComputeFilter,
  RAMWeigher (through Nova's weight handler), and the floor: a bare list
  comprehension keeping the hosts with a candidate that carries a slot;
- SEVFilter.filter_all for an encrypted (amd-sev) and a plain request;
- SEVWeigher for an encrypted and a plain request, through Nova's weight
  handler (normalisation and sorting included).

The scheduler is one in service: the provider trees it read stay known
for the whole run (its cache's clock stands still), as they do for
``[sev_scheduler] placement_max_age`` in a cloud that keeps it busy. The
first request of a new scheduler, which reads a few trees, is measured on
a real Placement by ``benchmarks/placement_cost.py``.

It prints milliseconds per request and per host, every ratio to every
anchor, peak memory allocated during one request, the Placement calls made
per request (answered in process: no network time is counted), and
whether the targets are met. Run it with ``tox -e bench``.
"""

import argparse
import gc
import importlib.metadata
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import warnings

warnings.simplefilter('ignore')

import os_resource_classes as orc  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_utils import timeutils  # noqa: E402
from oslo_utils import uuidutils  # noqa: E402

import nova.conf  # noqa: E402
from nova import config  # noqa: E402
from nova import objects  # noqa: E402
from nova.pci import stats as pci_stats  # noqa: E402
from nova.scheduler.client import report  # noqa: E402
from nova.scheduler.filters import compute_filter  # noqa: E402
from nova.scheduler.filters import image_props_filter  # noqa: E402
from nova.scheduler.filters import pci_passthrough_filter  # noqa: E402
from nova.scheduler import host_manager  # noqa: E402
from nova.scheduler import utils as scheduler_utils  # noqa: E402
from nova.scheduler import weights  # noqa: E402
from nova.scheduler.weights import ram  # noqa: E402

from sev_scheduler import capacity  # noqa: E402
from sev_scheduler import compat  # noqa: E402
from sev_scheduler import filters  # noqa: E402
from sev_scheduler import request as sev_request  # noqa: E402
from sev_scheduler.tests.unit import factories  # noqa: E402
from sev_scheduler import weighers  # noqa: E402

CONF = nova.conf.CONF
SIZES = (1000, 10000, 50000)
PCI_DEVICE = {'vendor_id': '8086', 'product_id': '1520'}
RAM_MB = 262144
# Loggers whose DEBUG must be off while timing: Nova's, ours, and the
# exact ones the contenders log to.
LOGGERS = ('nova', 'nova.filters', 'nova.scheduler.filters',
           'nova.scheduler.filters.pci_passthrough_filter',
           'nova.scheduler.filters.compute_filter', 'nova.weights',
           'nova.servicegroup.drivers.db', 'sev_scheduler',
           'sev_scheduler.filters', 'sev_scheduler.capacity',
           'sev_scheduler.weighers')

PCI_NONE = 'PciPassthroughFilter, no PCI request'
PCI_ONE = 'PciPassthroughFilter, 1 PCI device'
COMPUTE = 'ComputeFilter'
FLOOR = 'floor: bare list comprehension'
RAM = 'RAMWeigher'
ANCHORS = ((PCI_NONE, 'xPCI-0'), (PCI_ONE, 'xPCI-1'), (COMPUTE, 'xComp'),
           (FLOOR, 'xfloor'), (RAM, 'xRAMW'))
SEV_ENCRYPTED = 'SEVFilter, encrypted'
SEV_PLAIN = 'SEVFilter, plain'
SEV_PLAIN_COLD = 'SEVFilter, plain, cold'
# No memory check, so no provider tree: the per-host path alone.
SEV_SNP = 'SEVFilter, encrypted amd-sev-snp'
WEIGHER_ENCRYPTED = 'SEVWeigher, encrypted'
WEIGHER_PLAIN = 'SEVWeigher, plain'
# (contender, anchor, at most).
TARGETS = ((SEV_ENCRYPTED, PCI_NONE, 0.5), (SEV_ENCRYPTED, FLOOR, 2.0),
           (SEV_SNP, PCI_NONE, 0.5), (SEV_SNP, FLOOR, 2.0),
           (SEV_PLAIN, PCI_NONE, 0.01), (WEIGHER_ENCRYPTED, RAM, 1.0),
           (WEIGHER_PLAIN, RAM, 1.0))


def setup_logging(log_file):
    """As nova-scheduler does (nova/cmd/scheduler.py), debug off."""
    config.parse_args(['bench', '--log-file', log_file],
                      default_config_files=[], configure_db=False,
                      init_rpc=False)
    logging.setup(CONF, 'nova')
    # Every host's service stays up however long the run: one unheard of
    # for service_down_time makes ComputeFilter log a WARNING per host,
    # which is not its usual path.
    CONF.set_override('service_down_time', 24 * 3600)


def logging_levels():
    """'name=LEVEL' for each logger; fails if any would log DEBUG."""
    levels = []
    for name in LOGGERS:
        logger = logging.getLogger(name).logger
        if CONF.debug or logger.isEnabledFor(logging.DEBUG):
            sys.exit('%s logs DEBUG: figures would not be production ones'
                     % name)
        levels.append('%s=%s' % (
            name, logging.logging.getLevelName(logger.getEffectiveLevel())))
    return ', '.join(levels)


class CountingPlacement:
    """Placement's answers for the whole cloud, built once, calls counted.

    As Placement answers a tree read: the summaries of every provider of
    one compute node's tree, the root with the host's memory.
    """

    def __init__(self, hosts):
        self.calls = 0
        sev_trait = capacity.MODEL_TRAITS['amd-sev']
        summaries = {}
        for index, (host, slot) in enumerate(hosts):
            summaries[host.uuid] = {
                'resources': {orc.MEMORY_MB: {'capacity': RAM_MB,
                                              'used': 0}},
                'traits': [], 'root_provider_uuid': host.uuid}
            summaries.setdefault(slot, {
                'resources': {}, 'traits': [],
                'root_provider_uuid': host.uuid})
            summaries[slot]['resources'][capacity.SLOT] = {
                'capacity': 16, 'used': index % 16}
            summaries[slot]['traits'].append(sev_trait)
        self.summaries = {'provider_summaries': summaries}
        self.providers = {'resource_providers': [
            {'uuid': slot, 'root_provider_uuid': host.uuid}
            for host, slot in hosts]}

    def get(self, url, version=None, global_request_id=None):
        self.calls += 1
        if url.startswith('/resource_providers'):
            body = self.providers
        else:
            # One host's tree, as SlotView reads it.
            root = url.rpartition('in_tree=')[2].partition('&')[0]
            body = {'provider_summaries': {
                uuid: summary for uuid, summary in
                self.summaries['provider_summaries'].items()
                if summary['root_provider_uuid'] == root}}
        return type('Response', (), {'status_code': 200,
                                     'json': lambda self: body})()


def build_hosts(count):
    """Hosts with one candidate each, a PCI device, both slot layouts."""
    pools = objects.PciDevicePoolList(objects=[objects.PciDevicePool(
        vendor_id=PCI_DEVICE['vendor_id'],
        product_id=PCI_DEVICE['product_id'], numa_node=None, tags={},
        count=4)])
    stats = pci_stats.PciDeviceStats(objects.NUMATopology(cells=[]),
                                     stats=pools)
    now = timeutils.utcnow(with_timezone=True)
    hosts, slots = [], []
    for index in range(count):
        root = uuidutils.generate_uuid()
        slot = root if index % 2 else uuidutils.generate_uuid()
        name = 'host%d' % index
        host = factories.host(name, root, [factories.candidate(root, slot)])
        host.pci_stats = stats
        host.total_usable_ram_mb = RAM_MB
        host.free_ram_mb = RAM_MB - 512 * (index % 97)
        # As HostManager sets it from the Service object.
        host.service = host_manager.ReadOnlyDict({
            'host': name, 'binary': 'nova-compute', 'disabled': False,
            'disabled_reason': None, 'forced_down': False,
            'last_seen_up': now, 'created_at': now, 'updated_at': now})
        hosts.append(host)
        slots.append((host, slot))
    return hosts, CountingPlacement(slots)


def encrypted_spec():
    return factories.encrypted_spec()


def snp_spec():
    return factories.encrypted_spec('amd-sev-snp')


def plain_spec():
    return factories.spec()


def pci_spec():
    return factories.spec(pci_requests=[objects.InstancePCIRequest(
        count=1, spec=[PCI_DEVICE], request_id=uuidutils.generate_uuid())])


def filter_run(host_filter, make_spec):
    # An encrypted boot's block device mappings come from its BuildRequest,
    # one database read per request (a plain one reads none); the
    # benchmark has no database, so it hands over an empty list, built
    # once. Reading the request is timed.
    no_mappings = objects.BlockDeviceMappingList()

    def run(hosts, spec_obj):
        sev_request.for_spec(spec_obj, block_device_mappings=no_mappings)
        # As Nova's filter handler takes a filter's answer.
        return list(host_filter.filter_all(hosts, spec_obj))
    return run, make_spec


def floor_run():
    def run(hosts, spec_obj):
        return [host for host in hosts
                if any(map(capacity.carries_slot,
                           host.allocation_candidates))]
    return run, lambda: None


def weigher_run(weigher, make_spec):
    handler = weights.HostWeightHandler()

    def run(hosts, spec_obj):
        return handler.get_weighed_objects([weigher], hosts, spec_obj)
    return run, make_spec


def contenders():
    return [
        (PCI_NONE, filter_run(pci_passthrough_filter.PciPassthroughFilter(),
                              plain_spec)),
        (PCI_ONE, filter_run(pci_passthrough_filter.PciPassthroughFilter(),
                             pci_spec)),
        (COMPUTE, filter_run(compute_filter.ComputeFilter(), plain_spec)),
        (FLOOR, floor_run()),
        (RAM, weigher_run(ram.RAMWeigher(), plain_spec)),
        ('ImagePropertiesFilter', filter_run(
            image_props_filter.ImagePropertiesFilter(), plain_spec)),
        (SEV_ENCRYPTED, filter_run(filters.SEVFilter(), encrypted_spec)),
        (SEV_PLAIN, filter_run(filters.SEVFilter(), plain_spec)),
        (SEV_PLAIN_COLD, filter_run(filters.SEVFilter(), plain_spec)),
        (WEIGHER_ENCRYPTED, weigher_run(weighers.SEVWeigher(),
                                        encrypted_spec)),
        (WEIGHER_PLAIN, weigher_run(weighers.SEVWeigher(), plain_spec)),
    ] + ([(SEV_SNP, filter_run(filters.SEVFilter(), snp_spec))]
         if compat.AMD_SEV_SNP in compat.AMD_MODELS else [])


def as_nova_before_filters(spec_obj):
    """What nova-scheduler does with a request before any filter runs.

    It reads the RequestSpec into its Placement query
    (``select_destinations``): the objects' and options' code is warm when
    the first filter starts, as it is here after the garbage collection.
    """
    if spec_obj is not None:
        scheduler_utils.ResourceRequest.from_request_spec(spec_obj)


def time_once(run, make_spec, hosts, warm=True):
    spec_obj = make_spec()
    gc.collect()
    if warm:
        as_nova_before_filters(spec_obj)
    start = time.perf_counter()
    run(hosts, spec_obj)
    return time.perf_counter() - start


def peak_and_calls(run, make_spec, hosts, placement):
    spec_obj = make_spec()
    placement.calls = 0
    tracemalloc.start()
    run(hosts, spec_obj)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2 ** 20, placement.calls


def measure(size, repeats):
    """{contender: (best ms, peak MiB, Placement calls)}."""
    hosts, placement = build_hosts(size)
    report.report_client_singleton = lambda: placement
    # A scheduler in service, for these hosts: see the module's docstring.
    capacity.CACHE = capacity.Cache(clock=lambda: 0.0)
    runs = contenders()
    best = dict.fromkeys((name for name, _ in runs), float('inf'))
    # Interleaved: a burst of load elsewhere hits every contender alike.
    for _ in range(repeats):
        for name, (run, make_spec) in runs:
            best[name] = min(best[name], time_once(
                run, make_spec, hosts, warm=name != SEV_PLAIN_COLD))
    return {name: (best[name] * 1000,) + peak_and_calls(
        run, make_spec, hosts, placement) for name, (run, make_spec) in runs}


def print_table(size, repeats, figures):
    print('\n%d hosts, best of %d runs' % (size, repeats))
    print('%-37s %9s %7s' % ('', 'ms/req', 'us/host') +
          ''.join(' %7s' % label for _, label in ANCHORS) +
          ' %8s %9s' % ('peak MiB', 'Placement'))
    for name, (ms, peak, calls) in figures.items():
        print('%-37s %9.2f %7.3f' % (name, ms, ms * 1000 / size) +
              ''.join(' %7.3f' % (ms / figures[anchor][0])
                      for anchor, _ in ANCHORS) +
              ' %8.1f %9d' % (peak, calls))


def print_targets(size, figures):
    print('\nTargets at %d hosts:' % size)
    for name, anchor, most in TARGETS:
        if name not in figures:
            continue
        ratio = figures[name][0] / figures[anchor][0]
        print('  %-22s %7.3f x %-37s (at most %s): %s' % (
            name, ratio, anchor, most, 'met' if ratio <= most else 'NOT MET'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES)
    parser.add_argument('--repeats', type=int, default=15,
                        help='runs per contender at 10,000 hosts; more '
                        'for fewer hosts, fewer (5 at least) for more')
    args = parser.parse_args()

    log_file = tempfile.NamedTemporaryFile(
        prefix='sev-bench-', suffix='.log', delete=False).name
    setup_logging(log_file)
    print('Machine: %s, %d CPUs, %s, Python %s, Nova %s; load average '
          'at start %.2f' % (
              _cpu_model(), os.cpu_count(), platform.machine(),
              platform.python_version(), importlib.metadata.version('nova'),
              os.getloadavg()[0]))
    print('Logging: oslo.log as nova-scheduler sets it up, debug=%s, into '
          '%s; effective levels: %s' % (CONF.debug, log_file,
                                        logging_levels()))
    per_host = {}
    for size in args.sizes:
        repeats = max(5, args.repeats * 10000 // size)
        figures = measure(size, repeats)
        print_table(size, repeats, figures)
        print_targets(size, figures)
        per_host[size] = {name: ms / size for name, (ms, _, _) in
                          figures.items()}
    # Checked again: nothing turned DEBUG on while timing.
    levels = logging_levels()
    with open(log_file) as log:
        lines = sum(1 for _ in log)
    print('\nLogging after timing: still no DEBUG (%s); %d lines logged.'
          % (levels, lines))
    if len(per_host) > 1:
        sizes = sorted(per_host)
        print('\nLinearity: us per host, and its ratio from %d to %d hosts'
              % (sizes[-2], sizes[-1]))
        print('%-37s' % '' + ''.join(' %8d' % size for size in sizes) +
              ' %8s' % 'ratio')
        for name in per_host[sizes[-1]]:
            print('%-37s' % name +
                  ''.join(' %8.3f' % (per_host[size][name] * 1000)
                          for size in sizes) +
                  ' %8.2f' % (per_host[sizes[-1]][name] /
                              per_host[sizes[-2]][name]))


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


if __name__ == '__main__':
    main()
