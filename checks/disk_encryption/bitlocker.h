// disk_encryption on Windows, the part that runs anywhere: BitLocker's Win32_EncryptableVolume
// rows (WMI namespace ROOT\CIMV2\Security\MicrosoftVolumeEncryption, or the same properties from
// `Get-CimInstance ... | ConvertTo-Json`) judged into a CheckResult. disk_encryption_windows.cc
// asks WMI for the rows. Windows Home's "device encryption" is BitLocker underneath and shows in
// the same class.
#pragma once

#include <string>
#include <vector>

#include "hearth/result.h"
#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::checks::bitlocker {

inline constexpr char kNamespace[] = "ROOT\\CIMV2\\Security\\MicrosoftVolumeEncryption";
inline constexpr char kQuery[] =
    "SELECT DeviceID, DriveLetter, VolumeType, ProtectionStatus, ConversionStatus, "
    "EncryptionMethod FROM Win32_EncryptableVolume";
std::vector<std::string> Properties();

// `Get-CimInstance -Namespace root/cimv2/security/microsoftvolumeencryption
// -ClassName Win32_EncryptableVolume | ConvertTo-Json` (one object or an array) as rows.
// InvalidArgument when it is not such JSON.
StatusOr<std::vector<WmiRow>> ParseCimJson(std::string_view json_text);

// The verdict. Judged: the OS volume (VolumeType 0) and fixed data volumes (1); removable ones
// (2) are listed, not judged. A volume passes when fully encrypted (ConversionStatus 1) with
// protection on (ProtectionStatus 1); suspended protection, a conversion in progress or paused,
// and a decrypted volume fail; anything unreadable is unknown. No OS volume in the rows: unknown
// (zero rows is never "nothing to encrypt").
CheckResult JudgeVolumes(const std::vector<WmiRow>& rows);

}  // namespace hearth::checks::bitlocker
