pub mod wechat_pay;
