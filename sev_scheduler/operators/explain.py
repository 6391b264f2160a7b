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

"""Why a server did not boot, or whether a request not made yet would.

When Placement has no candidate, Nova fails before any filter runs and the
server's fault says only "No valid host was found.". This takes the
request as ``operators.lookup`` reads it from the APIs, judges it with the
filter's own request-level code (``operators.requests``), asks Placement
Nova's own allocation candidates query
(``ResourceRequest.from_request_spec``), and says for every host with
slots of the model why it can or cannot take the guest. The answer is one
line a support engineer can paste.

A server SEVFilter refused is answered with the reason of its fault, which
may name what the APIs no longer show. A server placed on a host is
answered with where it runs and the slots it holds; whether it would fit
again is judged only when asked, with what it holds counted free.
"""

import collections
import dataclasses

from nova import exception
from nova import objects
from nova.scheduler import host_manager
from nova.scheduler import utils as scheduler_utils

from sev_scheduler import aggregates
from sev_scheduler.checks import mdev_vgpu
from sev_scheduler import conf
from sev_scheduler.operators import capacity
from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.operators import requests
from sev_scheduler import verdict as sev_verdict

#: The options of ``[sev_scheduler]`` that change the answer.
OPTIONS = ('checks', 'safe_resource_classes', 'allow_memory_overcommit',
           'max_guests_per_host', 'isolate_sev_hosts')
#: Those shown only when set: confidential devices, and what Nova asks
#: Placement of them.
DEVICE_OPTIONS = ('snp_pci_aliases', 'confidential_device_traits')

#: How support engineers name the models in a sentence.
TECHNOLOGY = {'amd-sev': 'SEV', 'amd-sev-es': 'SEV-ES',
              'amd-sev-snp': 'SEV-SNP'}

#: The exit codes: fits (or runs holding what it asks for), cannot tell
#: (or runs without the slot it asks for), refused.
FITS, WARNING, REFUSED = 0, 1, 2


class ExplainError(Exception):
    """The input names nothing the cloud has; the message says what."""


@dataclasses.dataclass
class Host:
    """One host with slots, and why it can or cannot take the guest."""

    name: str
    model: str
    total: int
    used: int
    #: slots used on the host, every model: what the cap counts
    used_all: int = 0
    #: MEMORY_MB allocation ratio in Placement; None when unknown
    ram_ratio: float | None = None
    #: the strictest cap, 0 for none, and where it comes from
    cap: int = 0
    cap_source: str | None = None
    #: the nova-compute service: enabled, disabled (reason), down, unknown
    service: str = 'unknown'
    #: whether Nova's Placement query offers the host; None: not asked
    offered: bool | None = None
    #: device classes the request asks for that its tree has none free of
    missing: list = dataclasses.field(default_factory=list)
    reasons: list = dataclasses.field(default_factory=list)

    @property
    def free(self):
        return max(self.total - self.used, 0)

    @property
    def fits(self):
        return not self.reasons


@dataclasses.dataclass
class Holding:
    """What a server holds in Placement: its allocations."""

    #: {provider UUID: {resource class: amount}}
    resources: dict
    #: {provider UUID: the UUID of its root provider}
    roots: dict
    #: [(host, model or None, amount)] of the slots it holds
    slots: list

    def in_tree(self, root):
        """{resource class: amount} held in the tree of ``root``."""
        held = collections.Counter()
        for provider, resources in self.resources.items():
            if self.roots[provider] == root:
                held.update(resources)
        return held


@dataclasses.dataclass
class Result:
    rows: list
    verdict: list
    #: Nova's Placement query and what it offers, or why not asked
    placement: list
    hosts: list
    answer: str
    exit_code: int


# Configuration.

def configure(paths):
    """Take ``[sev_scheduler]`` from the scheduler's nova.conf files.

    :raises ExplainError: when the files cannot be read or hold a bad value.
    """
    try:
        conf.use_scheduler_conf(paths)
    except ValueError as error:
        raise ExplainError(str(error)) from None


def configuration(source):
    """What ``[sev_scheduler]`` says, for the output."""
    options = conf.CONF.sev_scheduler
    shown = [source]
    for name in OPTIONS:
        value = getattr(options, name)
        if isinstance(value, list):
            value = ','.join(value) or '(none)'
        shown.append('%s=%s' % (name, value))
    if any(getattr(options, name) for name in DEVICE_OPTIONS):
        shown += ['%s=%s' % (name, ','.join(getattr(options, name)) or
                             '(none)') for name in DEVICE_OPTIONS]
        shown.append('[filter_scheduler] pci_in_placement=%s'
                     % conf.CONF.filter_scheduler.pci_in_placement)
    return shown


# Judging.

def _pairs(mapping):
    return ['%s=%s' % item for item in sorted((mapping or {}).items())]


def _build(asked):
    """The filter's Request, sized as the flavor is for Placement."""
    flavor = asked.flavor
    boot_volume = None if asked.image is not None else (
        asked.boot_volume or (None, None))
    request = requests.build(
        flavor.get('extra_specs') or {},
        asked.properties,
        flavor_name=flavor.get('name') or flavor.get('original_name'),
        image_name=(asked.image or {}).get('name') or 'volume',
        volumes=asked.volumes, boot_volume=boot_volume, ports=asked.ports,
        disk_format=(asked.image or {}).get('disk_format'))
    request.flavor.vcpus = flavor['vcpus']
    request.flavor.memory_mb = flavor['ram']
    request.flavor.root_gb = flavor['disk']
    request.flavor.ephemeral_gb = flavor.get(
        'OS-FLV-EXT-DATA:ephemeral', flavor.get('ephemeral')) or 0
    # An empty string before compute microversion 2.75.
    request.flavor.swap = flavor.get('swap') or 0
    request.spec.is_bfv = boot_volume is not None
    return request


def _devices(resource_request, request):
    """{device, as a sentence names it: (listing, resource classes)}.

    The listing finds the providers with one free. The PCI devices Nova
    asks Placement for (a group per device, with PCI in Placement) with
    the traits their alias requires, then what else the request asks that
    may be a device (an mdev class).
    """
    devices, pci_classes = {}, set()
    for alias, group in requests.pci_groups(request):
        pci_classes.update(group.resources)
        traits = sorted(group.required_traits)
        name = "PCI device '%s'%s" % (
            alias, ' with %s' % ', '.join(traits) if traits else '')
        devices[name] = (capacity.device_listing(group.resources, traits),
                         set(group.resources))
    safe = set(conf.CONF.sev_scheduler.safe_resource_classes)
    merged = resource_request.merged_resources()
    for resource_class, amount in sorted(merged.items()):
        if (resource_class not in pci_classes and
                mdev_vgpu.is_device(resource_class, safe)):
            devices[resource_class] = (capacity.device_listing(
                {resource_class: amount}, ()), {resource_class})
    return devices


def _placement_query(request):
    """(Nova's ResourceRequest, its allocation candidates URL).

    Nova's own translation of the request, sent as Nova sends it, byte for
    byte: unquoted, an image's trait property holding '&', '=' or '%2C'
    would become other parameters. The request filters Nova adds
    (disabled computes, availability zones...) are left out, so that a
    disabled host is named as such below.
    """
    resource_request = scheduler_utils.ResourceRequest.from_request_spec(
        request.spec)
    return resource_request, ('/allocation_candidates?%s'
                              % resource_request.to_querystring())


def _placement_answer(cloud, resource_request, request, query):
    """(roots Nova's query offers, {device: (roots, resource classes)}).

    The roots of a device are those with one free in their tree.
    """
    summaries = cloud.get('placement', query)['provider_summaries']
    offered = {summary['root_provider_uuid']
               for summary in summaries.values()}
    devices = {}
    for device, (listing, classes) in _devices(resource_request,
                                               request).items():
        providers = cloud.get('placement', listing)['resource_providers']
        devices[device] = ({provider['root_provider_uuid']
                            for provider in providers}, classes)
    return offered, devices


def read_holding(cloud, server_id, model):
    """What a server holds in Placement, its slots by host and model.

    :param model: the model the request asks for, which names a slot
        provider with the traits of several.
    """
    allocations = cloud.get('placement', '/allocations/%s'
                            % server_id)['allocations']
    holding = Holding({}, {}, [])
    for uuid, held in sorted(allocations.items()):
        provider = cloud.get('placement', '/resource_providers/%s' % uuid)
        holding.resources[uuid] = held['resources']
        holding.roots[uuid] = provider['root_provider_uuid']
        amount = held['resources'].get(capacity.SLOT)
        if not amount:
            continue
        traits = cloud.get('placement', '/resource_providers/%s/traits'
                           % uuid)['traits']
        models = [name for name, trait in capacity.MODEL_TRAITS.items()
                  if trait in traits]
        held_model = model if model in models else next(iter(models), None)
        holding.slots.append((capacity.host_name(provider, held_model or ''),
                              held_model, amount))
    return holding


def release(hosts, roots, holding):
    """Count what a server holds as free, as if it were scheduled again.

    Its slots on the hosts that have them, and, for the cap, every slot in
    its host's tree.

    :param roots: host name -> its root provider's UUID.
    """
    for host in hosts:
        host.used -= sum(amount for name, model, amount in holding.slots
                         if (name, model) == (host.name, host.model))
        host.used_all -= holding.in_tree(roots[host.name])[capacity.SLOT]


def _hypervisors(cloud):
    """Compute node name -> its hypervisor as the compute API shows it."""
    return {hypervisor['hypervisor_hostname']: hypervisor for hypervisor in
            cloud.get_all('compute', '/os-hypervisors/detail',
                          'hypervisors')}


def _service(hypervisor):
    if hypervisor is None:
        return 'unknown'
    if hypervisor.get('status') == 'disabled':
        reason = (hypervisor.get('service') or {}).get('disabled_reason')
        return 'disabled (%s)' % reason if reason else 'disabled'
    if hypervisor.get('state') == 'down':
        return 'down'
    return 'enabled'


def host_cap(service_host, all_aggregates):
    """(the strictest cap, where from) as SEVFilter reads them."""
    host_state = host_manager.HostState(service_host, service_host, None)
    host_state.aggregates = [
        objects.Aggregate(name=aggregate['name'],
                          metadata=aggregate.get('metadata') or {})
        for aggregate in all_aggregates
        if service_host in (aggregate.get('hosts') or ())]
    default = conf.CONF.sev_scheduler.max_guests_per_host
    cap = aggregates.strictest_cap(host_state, aggregates.CAP_KEY,
                                   default)
    if not cap:
        return 0, None
    if cap == default and not any(aggregates.values(
            host_state, aggregates.CAP_KEY, aggregates.cap)):
        return cap, '[sev_scheduler] max_guests_per_host'
    return cap, 'aggregate %s' % aggregates.CAP_KEY


def _ram_ratio(cloud, hypervisor):
    if hypervisor is None:
        return None
    inventory = cloud.get('placement', '/resource_providers/%s/inventories'
                          % hypervisor['id'])['inventories']
    memory = inventory.get('MEMORY_MB')
    return memory['allocation_ratio'] if memory else None


def read_hosts(cloud, model):
    """The hosts with slots of ``model`` (any model when None), with facts.

    Placement's slots (``operators.capacity.read``) and MEMORY_MB
    allocation ratio, the compute API's services and aggregates.
    """
    slots = capacity.read(cloud)
    used_all = collections.Counter()
    for row in slots:
        used_all[row.host] += row.used
    hypervisors = _hypervisors(cloud)
    all_aggregates = cloud.get('compute', '/os-aggregates')['aggregates']
    hosts = []
    for row in slots:
        if model is not None and row.model != model:
            continue
        hypervisor = hypervisors.get(row.host)
        service_host = ((hypervisor or {}).get('service') or {}).get(
            'host', row.host)
        cap, cap_source = host_cap(service_host, all_aggregates)
        hosts.append(Host(
            name=row.host, model=row.model, total=row.total, used=row.used,
            used_all=used_all[row.host],
            ram_ratio=_ram_ratio(cloud, hypervisor), cap=cap,
            cap_source=cap_source, service=_service(hypervisor)))
    return hosts, {host.name: (hypervisors.get(host.name) or {}).get('id')
                   for host in hosts}


def device_name(resource_class):
    """How a sentence names a device of ``_devices``."""
    return 'mdev vGPU' if resource_class == 'VGPU' else resource_class


def judge(host, model, locks_memory, isolate):
    """Why a host cannot take the guest: [] when it can.

    :param model: the requested model; None for a request without
        encryption.
    :param locks_memory: whether the model locks guest memory and
        ``allow_memory_overcommit`` is off.
    """
    reasons = []
    if host.service != 'enabled':
        reasons.append('nova-compute %s' % host.service)
    if model is None:
        if isolate:
            reasons.append('isolate_sev_hosts keeps guests without '
                           'encryption off SEV-capable hosts')
        return reasons
    if not host.free:
        reasons.append('no free slot (%d of %d used)'
                       % (host.used, host.total))
    for device in host.missing:
        reasons.append('no free %s' % device)
    if host.offered is False and host.free and not host.missing:
        reasons.append('Placement offers no candidate (not enough VCPU, '
                       'MEMORY_MB or DISK_GB free, or a trait missing)')
    # As SEVFilter: a ratio not known to be at most 1.0 (None, NaN...).
    if locks_memory and not (host.ram_ratio is not None and
                             0.0 <= host.ram_ratio <= 1.0):
        reasons.append('RAM allocation ratio %s in Placement: %s guests '
                       'lock their memory' % (host.ram_ratio, model))
    if host.cap and host.used_all >= host.cap:
        reasons.append('cap reached: %d of %d encrypted guests (%s)'
                       % (host.used_all, host.cap, host.cap_source))
    return reasons


def _count(number, noun):
    """'1 host', '2 hosts'."""
    return '%d %s%s' % (number, noun, '' if number == 1 else 's')


def answer(model, refusals, hosts, devices=(), isolate=False):
    """(the one-line answer, exit code).

    :param refusals: the filter's request-level reasons.
    :param hosts: the hosts with slots of the model, judged.
    :param devices: the devices the request asks for (``_devices``).
    """
    if model is None and not refusals:
        if isolate and hosts:
            # A host has a row per model.
            return ('not encrypted: SEVFilter keeps it off the %s '
                    '(isolate_sev_hosts)' % _count(
                        len({host.name for host in hosts}),
                        'SEV-capable host'), FITS)
        return 'not encrypted: SEVFilter does not refuse it', FITS
    if model is None:
        return 'refused: %s' % refusals[0], REFUSED
    # Nova asks Placement first: with no candidate no filter runs.
    if not hosts:
        return 'refused: no host has %s slots' % model, REFUSED
    if not any(host.free for host in hosts):
        return ('refused: no free %s slot: %s, %d of %d used' % (
            model, _count(len(hosts), 'host'),
            sum(host.used for host in hosts),
            sum(host.total for host in hosts)), REFUSED)
    for device in devices:
        if all(device in host.missing for host in hosts if host.free):
            return ('refused: %s and %s: no host has both' % (
                device_name(device), TECHNOLOGY.get(model, model)), REFUSED)
    if refusals:
        return 'refused: %s' % '; '.join(refusals), REFUSED
    fitting = [host.name for host in hosts if host.fits]
    if fitting:
        return 'would fit on %s' % ', '.join(fitting), FITS
    # Full hosts are counted, the others named: those are the surprise.
    named = ['%s: %s' % (host.name, ', '.join(host.reasons))
             for host in hosts if host.free]
    full = len(hosts) - len(named)
    if full:
        named.append(_count(full, 'full host'))
    return 'refused: %s' % '; '.join(named), REFUSED


def placed(asked, holding, requested, model):
    """(the one-line answer, exit code) for a server placed on a host.

    Where it runs and the slots it holds. A server that asks for memory
    encryption and holds no slot is a warning, as ``audit`` finds it.

    :param requested: whether it asks for memory encryption; None when
        its image cannot be read as Nova would.
    """
    where = 'runs on %s' % asked.host
    if holding.slots:
        return '%s, holding %s' % (where, ', '.join(
            _count(amount, '%s slot' % (held_model or 'unknown model')) +
            ('' if host == asked.node else ' on %s' % host)
            for host, held_model, amount in holding.slots)), FITS
    if requested is False:
        return '%s, not encrypted' % where, FITS
    if requested is None:
        return '%s, holding no slot' % where, FITS
    return ('%s, holding no %s slot though it asks for memory encryption'
            % (where, model or 'memory encryption'), WARNING)


def _unsure(line, code, hosts, unseen):
    """What the APIs do not show may be refused: a fit is never promised."""
    if code != FITS or not unseen:
        return line, code
    return ('cannot tell: not seen: %s (%s can take what the API shows)'
            % (', '.join(unseen),
               ', '.join(host.name for host in hosts if host.fits)), WARNING)


def explain(cloud, asked, config_source, again=False):
    """Judge ``asked`` against the cloud: a Result.

    A server refused by SEVFilter is refused for the reason its fault
    gives. A server placed on a host is answered with where it runs and
    what it holds; with ``again``, whether it would fit if scheduled again
    as well, what it holds counted free.

    :param config_source: where ``[sev_scheduler]`` came from, for the
        output.
    :raises CloudError: when an API cannot be read.
    """
    rows = list(asked.rows)
    rows += [('Extra specs', _pairs(asked.flavor.get('extra_specs'))),
             ('Image properties', _pairs(asked.properties)),
             ('Configuration', configuration(config_source))]
    try:
        request = _build(asked)
    except ValueError as error:
        # Nova's API refuses such an image: no scheduler ever sees it.
        reason = str(error)
        result = Result(rows, [reason], ['not asked'], [],
                        'refused: %s' % reason, REFUSED)
        return _placed(cloud, asked, result, None, None, again)
    encryption = request.encryption
    rows += [('Encrypted', 'yes' if encryption.requested else 'no'),
             ('Model', encryption.model or '-'),
             ('Devices', requests.device_verdicts(request))]
    refusals = requests.refusals(request)
    if asked.host:
        holding = read_holding(cloud, asked.server_id, encryption.model)
        result = Result(rows, refusals, [
            'not asked: it runs on %s (--again asks)' % asked.host], [],
            None, None)
        if not again:
            return _placed(cloud, asked, result, encryption, holding, again)
    else:
        holding = None
        fault = sev_verdict.fault_reason(asked.fault)
        if fault is not None:
            # SEVFilter's own refusal, maybe for what the APIs do not
            # show (the bus of a volume of a server never placed).
            if not any(reason.startswith(fault) for reason in refusals):
                refusals.append("SEVFilter, in the server's fault: %s"
                                % fault)
            return Result(rows, refusals,
                          ['not asked: SEVFilter refused the request'], [],
                          'refused: %s' % fault, REFUSED)
    result = _judge(cloud, rows, request, refusals, asked.unseen, holding)
    return _placed(cloud, asked, result, encryption, holding, again)


def _placed(cloud, asked, result, encryption, holding, again):
    """``result``, or for a server placed on a host, where it runs first."""
    if not asked.host:
        return result
    if holding is None:
        holding = read_holding(cloud, asked.server_id, None)
    line, code = placed(asked, holding,
                        encryption and encryption.requested,
                        encryption and encryption.model)
    if again:
        line, code = '%s; again: %s' % (line, result.answer), result.exit_code
    return dataclasses.replace(result, answer=line, exit_code=code)


def _judge(cloud, rows, request, refusals, unseen, holding):
    """Judge the request on every host with slots of its model."""
    encryption = request.encryption
    options = conf.CONF.sev_scheduler
    if encryption.error:
        return Result(rows, refusals, ['not asked'], [],
                      'refused: %s' % refusals[0], REFUSED)
    model = encryption.model
    hosts, roots = read_hosts(cloud, model)
    if holding is not None:
        release(hosts, roots, holding)
    placement = ['not asked: no encryption requested']
    devices = {}
    if model is not None:
        try:
            resource_request, query = _placement_query(request)
        except exception.NovaException as error:
            reason = error.format_message()
            return Result(rows, refusals + [reason], ['not asked'], hosts,
                          'refused: %s' % reason, REFUSED)
        try:
            offered, devices = _placement_answer(cloud, resource_request,
                                                 request, query)
        except sev_cloud.CloudError as error:
            if error.status is None:
                raise
            # Nova gets the same answer, and schedules nowhere.
            return Result(rows, refusals, ['GET %s' % query, str(error)],
                          hosts, "refused: Placement answered %d to Nova's "
                          "query: no filter runs" % error.status, REFUSED)
        placement = ['GET %s' % query]
        for host in hosts:
            root = roots[host.name]
            held = holding.in_tree(root) if holding else {}
            host.offered = root in offered
            if held and not host.offered:
                # Placement counts what the server holds there as used.
                host.offered = None
                placement.append(
                    '%s, where it runs: Placement counts what the server '
                    'holds there as used; taken as free' % host.name)
            host.missing = [device for device, (trees, classes)
                            in devices.items()
                            if root not in trees and not classes & set(held)]
        placement.insert(1, 'offers %d of these hosts'
                         % sum(bool(host.offered) for host in hosts))
    locks_memory = bool(encryption.config and
                        encryption.config.needs_locked_memory and
                        not options.allow_memory_overcommit)
    for host in hosts:
        host.reasons = judge(host, model, locks_memory,
                             options.isolate_sev_hosts)
    line, code = answer(model, refusals, hosts, devices,
                        options.isolate_sev_hosts)
    if model is not None:
        line, code = _unsure(line, code, hosts, unseen)
    return Result(rows, refusals, placement, hosts, line, code)
