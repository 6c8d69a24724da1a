//! Device Logout: enrolled computers (bound to a certificate from ulo's device CA), the people
//! who sign in on them, and the signed commands ulo issues them (SIGN_OUT), with their outcome
//! recorded on the same receipt as a Universal Logout.

mod admin;
mod agent;
mod enroll;
mod logout;
mod model;
mod version;

pub use admin::Devices;
pub use agent::{AgentCall, AgentReport, Polled, ack, active_device, poll, take_pending};
pub use enroll::{
    DeviceCa, Enrollment, EnrollmentTokenCreated, IssuedCertificate, create_enrollment_token,
    enroll,
};
pub(crate) use logout::{DeviceLogoutPlan, PlannedDevice, SignOut, issue_commands, plan_devices};
pub use logout::{EXPIRE_JOB, ExpireCommand, expire_command};
pub use model::{
    CommandStatus, CommandType, Device, DeviceCertificate, DeviceCommand, DeviceSettings,
    DeviceStatus, DeviceUser, EnrollmentToken, FEATURE,
};
pub use version::{AgentVersion, check_agent_version};
