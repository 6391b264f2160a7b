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

"""Why a request can never be scheduled, in words a user understands.

Shared by SEVFilter and ``sev-scheduler check-request``, so that the
offline answer is the filter's own.
"""


def invalid_reason(request):
    """Why the encryption request cannot be honoured as written, or None."""
    if request.encryption.error:
        return ("Invalid memory encryption request: %s"
                % request.encryption.error)
    return None


def conflict_reason(request, checks):
    """What the request combines memory encryption with, or None.

    :param checks: the loaded request checks, see ``sev_scheduler.checks``.
    """
    if not request.encryption.requested:
        return None
    conflicts = [conflict for check in checks
                 for conflict in check.conflicts(request)]
    if not conflicts:
        return None
    model = request.encryption.model
    return "Memory encryption%s cannot be used with %s" % (
        ' (%s)' % model if model else '', '; '.join(conflicts))
