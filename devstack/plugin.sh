#!/bin/bash
#
# plugin.sh - DevStack plugin for sev-scheduler
#
#   [[local|localrc]]
#   enable_plugin sev-scheduler https://example.org/sev-scheduler main
#
# On the nodes that run nova-scheduler (service n-sch): installs the
# package from its clone (stack install), then adds SEVFilter, and
# SEVWeigher, to $NOVA_CONF and writes the [sev_scheduler] options set in
# devstack/settings (stack post-config: nova.conf exists, nova-scheduler
# has not started yet). What local.conf's [[post-config|$NOVA_CONF]] sets
# is applied after this, and wins.
#
# Checked by sev_scheduler/tests/unit/deploy/test_devstack.py.

# Save trace setting
_XTRACE_SEV_SCHEDULER=$(set +o | grep xtrace)
set -o xtrace

SEV_SCHEDULER_FILTER=sev_scheduler.filters.SEVFilter
SEV_SCHEDULER_WEIGHER=sev_scheduler.weighers.SEVWeigher
# Nova's own defaults, for a nova.conf that does not set the options.
SEV_SCHEDULER_NOVA_AVAILABLE_FILTERS=nova.scheduler.filters.all_filters
SEV_SCHEDULER_NOVA_ENABLED_FILTERS=ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter
SEV_SCHEDULER_NOVA_WEIGHT_CLASSES=nova.scheduler.weights.all_weighers

# _sev_scheduler_append_to_list LIST ITEM: LIST (comma-separated) with ITEM
# at the end, unless it is there already.
function _sev_scheduler_append_to_list {
    local list=$1
    local item=$2
    if [[ ",$list," == *",$item,"* ]]; then
        echo "$list"
    else
        echo "${list:+$list,}$item"
    fi
}

function install_sev_scheduler {
    setup_develop $SEV_SCHEDULER_DIR
}

function configure_sev_scheduler {
    local available
    available=$(iniget_multiline $NOVA_CONF filter_scheduler available_filters)
    if [[ -z "$available" ]]; then
        iniset_multiline $NOVA_CONF filter_scheduler available_filters \
            $SEV_SCHEDULER_NOVA_AVAILABLE_FILTERS $SEV_SCHEDULER_FILTER
    elif [[ " $available " != *" $SEV_SCHEDULER_FILTER "* ]]; then
        iniadd $NOVA_CONF filter_scheduler available_filters \
            $SEV_SCHEDULER_FILTER
    fi

    local enabled
    enabled=$(iniget $NOVA_CONF filter_scheduler enabled_filters)
    iniset $NOVA_CONF filter_scheduler enabled_filters \
        $(_sev_scheduler_append_to_list \
            "${enabled:-$SEV_SCHEDULER_NOVA_ENABLED_FILTERS}" SEVFilter)

    if [[ "$SEV_SCHEDULER_ENABLE_WEIGHER" == "True" ]]; then
        local weighers
        weighers=$(iniget $NOVA_CONF filter_scheduler weight_classes)
        iniset $NOVA_CONF filter_scheduler weight_classes \
            $(_sev_scheduler_append_to_list \
                "${weighers:-$SEV_SCHEDULER_NOVA_WEIGHT_CLASSES}" \
                $SEV_SCHEDULER_WEIGHER)
    fi

    local option variable
    for option in isolate_sev_hosts allow_memory_overcommit \
            weight_multiplier plain_on_sev_weight_multiplier \
            max_guests_per_host; do
        variable=SEV_SCHEDULER_${option^^}
        if [[ -n "${!variable}" ]]; then
            iniset $NOVA_CONF sev_scheduler $option "${!variable}"
        fi
    done
}

if is_service_enabled n-sch; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing sev-scheduler"
        install_sev_scheduler
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring nova-scheduler for sev-scheduler"
        configure_sev_scheduler
    fi
fi

# Restore xtrace
$_XTRACE_SEV_SCHEDULER
